import "./styles.css";

import { QueryClientProvider } from "@tanstack/react-query";
import { RouterProvider } from "@tanstack/react-router";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { restore } from "./auth/session";
import { createQueryClient } from "./queryClient";
import { createAppRouter } from "./router";

restore();
const queryClient = createQueryClient();
const router = createAppRouter(queryClient);
// The first route's loaders (its first query) and lazy page start now, not once React has
// rendered the provider; the provider then waits for this load instead of starting another.
void router.load();

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root");
createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  </StrictMode>,
);
