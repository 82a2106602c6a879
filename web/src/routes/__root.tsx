import type { QueryClient } from "@tanstack/react-query";
import {
  createRootRouteWithContext,
  Link,
  Navigate,
  Outlet,
  redirect,
  useLocation,
} from "@tanstack/react-router";
import { useEffect } from "react";

import { Can } from "../auth/Can";
import { currentSession, logout, useSession } from "../auth/session";
import { ErrorBoundary, ErrorPanel } from "../ui/ErrorBoundary";
import { formatAge } from "../ui/format";
import { ServiceBanner } from "../ui/ServiceBanner";

export interface RouterContext {
  queryClient: QueryClient;
}

const LOGIN = "/login";

export const rootRoute = createRootRouteWithContext<RouterContext>()({
  beforeLoad: ({ location }) => {
    if (location.pathname !== LOGIN && !currentSession()) {
      throw redirect({ to: LOGIN, search: { redirect: location.href } });
    }
  },
  component: Layout,
  notFoundComponent: () => (
    <section className="panel">
      <h1>Not found</h1>
      <p>
        No page here. <Link to="/">Back to the overview</Link>
      </p>
    </section>
  ),
  errorComponent: ({ error }) => <ErrorPanel error={error} />,
});

const NAV = [
  { to: "/", label: "Overview" },
  { to: "/workers", label: "Workers" },
  { to: "/queues", label: "Queues" },
  { to: "/tasks", label: "Tasks" },
  { to: "/schedules", label: "Schedules" },
] as const;

function Layout() {
  const session = useSession();
  const location = useLocation();
  const { queryClient } = rootRoute.useRouteContext();
  const onLogin = location.pathname === LOGIN;

  useEffect(() => {
    // Another token may have another role: nothing the last one saw stays.
    if (!session) queryClient.clear();
  }, [session, queryClient]);

  if (!session && !onLogin) {
    return <Navigate to={LOGIN} search={{ redirect: location.href }} replace />;
  }
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <span className="brand">SDP console</span>
        {session && (
          <>
            <nav aria-label="Main">
              <ul>
                {NAV.map((item) => (
                  <li key={item.to}>
                    <Link to={item.to} activeOptions={{ exact: item.to === "/" }}>
                      {item.label}
                    </Link>
                  </li>
                ))}
                <Can role="admin">
                  <li>
                    <Link to="/audit">Audit</Link>
                  </li>
                </Can>
              </ul>
            </nav>
            <div className="session" aria-label="Session">
              <span>
                {session.subject} · <strong data-testid="role">{session.role}</strong>
              </span>
              {session.expiresAt !== null && (
                <small title={new Date(session.expiresAt).toISOString()}>
                  expires {formatAge(session.expiresAt)}
                </small>
              )}
              <button type="button" onClick={() => logout("You logged out.")}>
                Log out
              </button>
            </div>
          </>
        )}
      </header>
      <ServiceBanner />
      <main id="main" tabIndex={-1}>
        <ErrorBoundary resetKey={location.pathname}>
          <Outlet />
        </ErrorBoundary>
      </main>
    </div>
  );
}
