import { createRoute, useNavigate } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";

import { login, useNotice } from "../auth/session";
import { Field } from "../ui/Field";
import { rootRoute } from "./__root";
import { text } from "./search";

export const loginRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/login",
  validateSearch: (search: Record<string, unknown>): { redirect?: string } => ({
    redirect: text(search.redirect),
  }),
  component: LoginPage,
});

/** Only a path of this console: never follow a redirect to another origin. */
function safeTarget(target: string | undefined): string {
  return target && target.startsWith("/") && !target.startsWith("//") && target !== "/login"
    ? target
    : "/";
}

function LoginPage() {
  const { redirect } = loginRoute.useSearch();
  const navigate = useNavigate();
  const notice = useNotice();
  const [token, setToken] = useState("");
  const [problem, setProblem] = useState<string | null>(null);

  function submit(event: FormEvent) {
    event.preventDefault();
    try {
      login(token);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
      return;
    }
    void navigate({ href: safeTarget(redirect), replace: true });
  }

  return (
    <section className="panel login">
      <h1>Sign in</h1>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={submit} noValidate>
        <Field
          label="Bearer token"
          message={problem}
          hint="Paste a token, e.g. from `make token ROLE=admin`. It is kept in this tab only."
        >
          <textarea
            rows={4}
            value={token}
            onChange={(event) => setToken(event.target.value)}
            autoComplete="off"
            spellCheck={false}
            required
          />
        </Field>
        <button type="submit" className="primary">
          Sign in
        </button>
      </form>
    </section>
  );
}
