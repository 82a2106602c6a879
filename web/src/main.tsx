import "./styles.css";
// First: it starts what the first page needs before the libraries below are evaluated.
import { queryClient } from "./startup";

import { QueryClientProvider } from "@tanstack/react-query";
import { RouterProvider } from "@tanstack/react-router";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { createAppRouter } from "./router";

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
