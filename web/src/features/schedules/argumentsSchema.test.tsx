import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it } from "vitest";

import { ApiError } from "../../api/errors";
import { ArgumentsForm } from "./ArgumentsForm";
import { argumentFields, type ArgumentValues, buildKwargs, initialValues } from "./argumentsSchema";
import { JOBS } from "./testJobs";

const etl = JOBS[2]!.arguments;

describe("argumentFields", () => {
  it("reads each property's kind, label, default and required mark", () => {
    const fields = argumentFields(etl);
    expect(fields?.map((field) => [field.name, field.kind, field.label, field.required])).toEqual([
      ["source", "string", "Source", true],
      ["format", "enum", "Format", false],
      ["pipeline", "json", "Pipeline", false],
      ["limit", "integer", "Limit", false],
      ["dry_run", "boolean", "Dry run", false],
      ["tags", "array", "Tags", false],
    ]);
    expect(fields?.find((field) => field.name === "format")?.options).toEqual(["json", "csv"]);
  });

  it("gives no fields for a schema that is not an object of properties", () => {
    expect(argumentFields({ type: "array" })).toBeNull();
  });

  it("builds kwargs, leaving out empty optional fields and naming bad ones", () => {
    const fields = argumentFields(etl);
    const values: ArgumentValues = {
      ...initialValues(fields),
      source: "celery-task-meta-1",
      pipeline: '[{"op": "rename"}]',
      limit: "10",
      tags: "a\n\nb\n",
    };
    expect(buildKwargs(fields, values)).toEqual({
      kwargs: {
        source: "celery-task-meta-1",
        format: "json",
        pipeline: [{ op: "rename" }],
        limit: 10,
        dry_run: false,
        tags: ["a", "b"],
      },
      problems: {},
    });
    expect(
      buildKwargs(fields, { ...values, source: "", limit: "1.5", pipeline: "[" }).problems,
    ).toEqual({
      "kwargs.source": "Required",
      "kwargs.limit": "Must be a whole number",
      "kwargs.pipeline": "Not valid JSON",
    });
  });

  it("reads a whole-JSON arguments text", () => {
    expect(buildKwargs(null, { "": '{"a": 1}' })).toEqual({ kwargs: { a: 1 }, problems: {} });
    expect(buildKwargs(null, { "": "[1]" }).problems).toEqual({ kwargs: "Must be a JSON object" });
  });
});

function Harness({ error }: { error?: ApiError }) {
  const fields = argumentFields(etl);
  const [values, setValues] = useState(() => initialValues(fields));
  return (
    <>
      <ArgumentsForm fields={fields} values={values} onChange={setValues} error={error} />
      <output data-testid="kwargs">{JSON.stringify(buildKwargs(fields, values).kwargs)}</output>
    </>
  );
}

describe("ArgumentsForm", () => {
  it("draws a labelled control per property, with defaults and required marks", async () => {
    render(<Harness />);
    expect(screen.getByRole("textbox", { name: "Source (required)" })).toBeRequired();
    expect(screen.getByRole("combobox", { name: "Format" })).toHaveValue("json");
    expect(screen.getByRole("checkbox", { name: "Dry run" })).not.toBeChecked();
    expect(screen.getByRole("textbox", { name: "Pipeline" })).toHaveAccessibleDescription(/JSON/);
    expect(screen.getByRole("textbox", { name: "Source (required)" })).toHaveAccessibleDescription(
      "Where the records are.",
    );

    await userEvent.type(screen.getByRole("textbox", { name: "Source (required)" }), "src");
    await userEvent.selectOptions(screen.getByRole("combobox", { name: "Format" }), "csv");
    await userEvent.click(screen.getByRole("checkbox", { name: "Dry run" }));
    expect(JSON.parse(screen.getByTestId("kwargs").textContent ?? "")).toEqual({
      source: "src",
      format: "csv",
      dry_run: true,
    });
  });

  it("shows the API's message at the field it names", () => {
    const error = new ApiError(422, "validation_error", "bad", [
      { field: "kwargs.source", message: "not a key" },
    ]);
    render(<Harness error={error} />);
    expect(screen.getByRole("textbox", { name: "Source (required)" })).toHaveAccessibleDescription(
      /not a key/,
    );
  });

  it("says when a task takes no arguments", () => {
    render(<ArgumentsForm fields={[]} values={{}} onChange={() => {}} />);
    expect(screen.getByText("This task takes no arguments.")).toBeInTheDocument();
  });
});
