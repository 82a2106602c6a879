/** Which service is down, for the banner; every client call reports what it saw. */
import { useSyncExternalStore } from "react";

export type Service = "api" | "monitor";
export type Health = Readonly<Record<Service, boolean>>;

let down: Health = { api: false, monitor: false };
const listeners = new Set<() => void>();

function set(service: Service, isDown: boolean): void {
  if (down[service] === isDown) return;
  down = { ...down, [service]: isDown };
  listeners.forEach((listener) => listener());
}

export function markDown(service: Service): void {
  set(service, true);
}

export function markUp(service: Service): void {
  set(service, false);
}

export function serviceHealth(): Health {
  return down;
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** `{api, monitor}`: true while that service is down. */
export function useServiceDown(): Health {
  return useSyncExternalStore(subscribe, serviceHealth, serviceHealth);
}

/** Whether a status means the service (or its Redis) is not there, rather than a bad request. */
export function isOutage(status: number): boolean {
  return status === 0 || status === 502 || status === 503;
}
