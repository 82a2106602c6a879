/**
 * The session and query client, made before the rest of the app is evaluated: main.tsx imports
 * this first, so a first visit to the history asks for its first page while React and the
 * router are still being evaluated (a few hundred ms on a slow machine), not after.
 */
import { currentSession, restore } from "./auth/session";
import { historyQuery } from "./features/tasks/queries";
import { createQueryClient } from "./queryClient";

restore();
export const queryClient = createQueryClient();

// Only the unfiltered history: filters are parsed by the route, which is not evaluated yet. The
// route's loader then finds this request under the same key and waits for it.
if (location.pathname === "/tasks" && location.search === "" && currentSession()) {
  void queryClient.prefetchInfiniteQuery(historyQuery({}));
}
