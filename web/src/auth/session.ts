/**
 * The signed-in token, kept in sessionStorage only (never localStorage or a URL), so it goes
 * with the tab. A logout, a 401 or the token's expiry ends the session and leaves a notice for
 * the login page.
 */
import { useSyncExternalStore } from "react";

import { type Claims, decodeToken } from "./token";

export interface Session extends Claims {
  token: string;
}

const STORAGE_KEY = "sdp.token";
/** Shown on the login page after the token expired or a service rejected it. */
export const SESSION_EXPIRED = "Your session expired: paste a new token.";

let session: Session | null = null;
let notice: string | null = null;
let expiryTimer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<() => void>();

function emit(): void {
  listeners.forEach((listener) => listener());
}

function start(token: string, claims: Claims): Session {
  clearTimeout(expiryTimer);
  session = { token, ...claims };
  if (claims.expiresAt !== null) {
    // setTimeout's delay is a 32-bit number: a far expiry is checked again later.
    const delay = Math.min(claims.expiresAt - Date.now(), 2 ** 31 - 1);
    expiryTimer = setTimeout(() => {
      if (session && session.expiresAt !== null && session.expiresAt <= Date.now()) {
        logout(SESSION_EXPIRED);
      } else if (session) {
        start(session.token, session);
      }
    }, delay);
  }
  return session;
}

/** Sign in with a pasted token; throws a TokenError naming what is wrong with it. */
export function login(token: string): Session {
  const trimmed = token.trim();
  const claims = decodeToken(trimmed);
  sessionStorage.setItem(STORAGE_KEY, trimmed);
  notice = null;
  const started = start(trimmed, claims);
  emit();
  return started;
}

/** End the session; `message` is shown on the login page. */
export function logout(message: string | null = null): void {
  clearTimeout(expiryTimer);
  sessionStorage.removeItem(STORAGE_KEY);
  const changed = session !== null || notice !== message;
  session = null;
  notice = message;
  if (changed) emit();
}

/** The session restored from this tab's storage at start-up, if its token still holds. */
export function restore(): void {
  const stored = sessionStorage.getItem(STORAGE_KEY);
  if (!stored) return;
  try {
    start(stored, decodeToken(stored));
  } catch (error) {
    logout(error instanceof Error ? error.message : String(error));
  }
}

export function currentSession(): Session | null {
  if (session?.expiresAt != null && session.expiresAt <= Date.now()) {
    logout(SESSION_EXPIRED);
  }
  return session;
}

export function currentNotice(): string | null {
  return notice;
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useSession(): Session | null {
  return useSyncExternalStore(subscribe, () => session);
}

/** Why the last session ended (expired, rejected), for the login page. */
export function useNotice(): string | null {
  return useSyncExternalStore(subscribe, () => notice);
}
