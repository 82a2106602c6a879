import { useEffect } from "react";

import { api, monitor } from "../api/client";
import { type Service, useServiceDown } from "../api/health";

const NAMES: Record<Service, string> = {
  api: "The API (schedules, task submission)",
  monitor: "The monitor (workers, queues, task history, live events)",
};

// While a service is down, a cheap call every few seconds notices it coming back even on a
// page that asks nothing else of it.
const PROBE_EVERY_MS = 5_000;
const probes: Record<Service, () => Promise<unknown>> = {
  api: () => api.GET("/api/v1/scheduler/status"),
  monitor: () => monitor.GET("/api/v1/celery/flower/url"),
};

/** One line per service that is down; the rest of the page keeps working. */
export function ServiceBanner() {
  const down = useServiceDown();
  const services = (Object.keys(down) as Service[]).filter((service) => down[service]);
  const key = services.join(",");

  useEffect(() => {
    if (!key) return;
    const timer = setInterval(() => {
      for (const service of key.split(",") as Service[]) probes[service]().catch(() => {});
    }, PROBE_EVERY_MS);
    return () => clearInterval(timer);
  }, [key]);

  if (services.length === 0) return null;
  return (
    <div className="service-banner" role="alert">
      {services.map((service) => (
        <p key={service} data-service={service}>
          <strong>{service} is down.</strong> {NAMES[service]} is not answering; what needs it is
          shown as last known, and the console retries.
        </p>
      ))}
    </div>
  );
}
