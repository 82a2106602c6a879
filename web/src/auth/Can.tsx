import type { ReactNode } from "react";

import { useSession } from "./session";
import { allows, type Role } from "./token";

/** Whether the signed-in role may use controls that need `role`. */
export function useCan(role: Role): boolean {
  const session = useSession();
  return session !== null && allows(session.role, role);
}

/** Renders its children only for `role` or above: controls beyond the role are not drawn. */
export function Can({
  role,
  children,
  fallback = null,
}: {
  role: Role;
  children: ReactNode;
  fallback?: ReactNode;
}) {
  return <>{useCan(role) ? children : fallback}</>;
}
