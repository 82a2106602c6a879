/** A job catalogue as GET /api/v1/jobs answers it, for the page's tests. */
import type { ApiSchemas } from "../../api/types";

const policy = {
  max_retries: 0,
  retry_backoff_max_s: 600,
  soft_time_limit_s: 60,
  time_limit_s: 70,
};

export const JOBS: ApiSchemas["JobOut"][] = [
  {
    name: "system.noop",
    queue: "system",
    description: "Do nothing.",
    policy,
    arguments: { additionalProperties: false, properties: {}, title: "NoopParams", type: "object" },
  },
  {
    name: "system.sleep",
    queue: "system",
    description: "Sleep for a number of seconds.",
    policy,
    arguments: {
      additionalProperties: false,
      properties: {
        seconds: {
          description: "0 to 3,600.",
          maximum: 3600,
          minimum: 0,
          title: "Seconds",
          type: "number",
        },
      },
      required: ["seconds"],
      title: "SleepParams",
      type: "object",
    },
  },
  {
    name: "etl.transform",
    queue: "etl",
    description: "Transform collected data.",
    policy,
    arguments: {
      $defs: { Step: { type: "object", properties: { op: { type: "string" } } } },
      properties: {
        source: { title: "Source", type: "string", description: "Where the records are." },
        format: { title: "Format", enum: ["json", "csv"], type: "string", default: "json" },
        pipeline: { title: "Pipeline", type: "array", items: { $ref: "#/$defs/Step" } },
        limit: { anyOf: [{ type: "integer" }, { type: "null" }], default: null, title: "Limit" },
        dry_run: { title: "Dry run", type: "boolean", default: false },
        tags: { title: "Tags", type: "array", items: { type: "string" } },
      },
      required: ["source"],
      title: "TransformParams",
      type: "object",
    },
  },
];
