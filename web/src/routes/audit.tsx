import { createRoute, lazyRouteComponent, redirect } from "@tanstack/react-router";

import { currentSession } from "../auth/session";
import { allows } from "../auth/token";
import { rootRoute } from "./__root";
import type { MonitorSchemas } from "../api/types";
import { oneOf, text } from "./search";

export type AuditResult = MonitorSchemas["AuditResult"];

/** Every result the monitor records: what was done, or the code a request was refused with. */
export const AUDIT_RESULTS = [
  "ok",
  "partial",
  "failed",
  "interrupted",
  "error",
  "validation_error",
  "conflict",
  "not_found",
  "unauthorized",
  "forbidden",
  "unavailable",
  "timeout",
  "malformed_body",
  "unsupported_media_type",
  "internal_error",
] as const satisfies readonly AuditResult[];

export interface AuditSearch {
  action?: string;
  subject?: string;
  result?: AuditResult;
  /** Targets starting with this. */
  target?: string;
  /** ISO timestamps: at or after / at or before. */
  since?: string;
  until?: string;
}

export const auditRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/audit",
  beforeLoad: () => {
    const session = currentSession();
    // Admins only: the monitor refuses the others anyway.
    if (session && !allows(session.role, "admin")) throw redirect({ to: "/" });
  },
  validateSearch: (search: Record<string, unknown>): AuditSearch => ({
    action: text(search.action),
    subject: text(search.subject),
    result: oneOf(AUDIT_RESULTS, search.result),
    target: text(search.target),
    since: text(search.since),
    until: text(search.until),
  }),
  component: lazyRouteComponent(() => import("../features/audit/AuditPage"), "AuditPage"),
});
