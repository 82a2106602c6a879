/**
 * The two typed clients, same origin: `api` (/api/v1/...) and `monitor` (/api/v1/celery/...).
 * Every call carries the session's bearer token; a 401 ends the session, and an unreachable
 * service (network error, 502, 503) is marked down for the banner until it answers again.
 */
import createClient, { type Middleware } from "openapi-fetch";

import { currentSession, logout, SESSION_EXPIRED } from "../auth/session";
import { ApiError, networkError, toApiError } from "./errors";
import type { paths as ApiPaths } from "./generated/api";
import type { paths as MonitorPaths } from "./generated/monitor";
import { isOutage, markDown, markUp, type Service } from "./health";

/** The `Authorization` header of the current session, for calls made without the clients. */
export function authHeaders(): Record<string, string> {
  const session = currentSession();
  return session ? { Authorization: `Bearer ${session.token}` } : {};
}

/**
 * What every answer (or its absence) means for the session and the service's health. A 401
 * ends the session only when the call carried the current session's token (`sentToken`,
 * when known): one sent before a logout or a new sign-in says nothing of this session.
 */
export function observe(service: Service, status: number, sentToken?: string | null): void {
  const session = currentSession();
  if (status === 401 && session && (sentToken === undefined || sentToken === session.token)) {
    logout(SESSION_EXPIRED);
  }
  if (isOutage(status)) markDown(service);
  else markUp(service);
}

function middleware(service: Service): Middleware {
  return {
    onRequest({ request }) {
      for (const [name, value] of Object.entries(authHeaders())) request.headers.set(name, value);
      return request;
    },
    onResponse({ request, response }) {
      const sent = request.headers.get("Authorization")?.replace(/^Bearer /, "") ?? null;
      observe(service, response.status, sent);
      return response;
    },
    onError({ error }) {
      if (error instanceof DOMException && error.name === "AbortError") return error;
      observe(service, 0);
      return networkError(error);
    },
  };
}

// Relative URLs need a base outside a page (tests); in the browser it is the page's origin.
const baseUrl = typeof location === "undefined" ? "http://localhost" : location.origin;

export const api = createClient<ApiPaths>({ baseUrl });
api.use(middleware("api"));

export const monitor = createClient<MonitorPaths>({ baseUrl });
monitor.use(middleware("monitor"));

interface Outcome<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a client call, or its error as an ApiError: `unwrap(monitor.GET(...))`. */
export async function unwrap<T>(call: Promise<Outcome<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) {
    throw error instanceof ApiError
      ? error
      : toApiError(response.status, error, response.statusText);
  }
  return data as T;
}
