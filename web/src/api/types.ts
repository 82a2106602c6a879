/** The services' response and request models, by their OpenAPI names. */
import type { components as ApiComponents } from "./generated/api";
import type { components as MonitorComponents } from "./generated/monitor";

export type ApiSchemas = ApiComponents["schemas"];
export type MonitorSchemas = MonitorComponents["schemas"];
