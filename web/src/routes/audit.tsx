import { createRoute, redirect } from "@tanstack/react-router";

import { currentSession } from "../auth/session";
import { allows } from "../auth/token";
import { AuditPage } from "../features/audit/AuditPage";
import { rootRoute } from "./__root";

export const auditRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/audit",
  beforeLoad: () => {
    const session = currentSession();
    // Admins only: the monitor refuses the others anyway.
    if (session && !allows(session.role, "admin")) throw redirect({ to: "/" });
  },
  component: AuditPage,
});
