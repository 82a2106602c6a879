import { useNavigate, useSearch } from "@tanstack/react-router";
import { useCallback, useMemo } from "react";

import { ApiError, errorMessage } from "../../api/errors";
import { formatCount } from "../../ui/format";
import "./tasks.css";
import { filtersOf, type TaskFilters, useTask, useTaskHistory, withTask } from "./queries";
import { TaskDetailPanel } from "./TaskDetailPanel";
import { TaskFilterForm } from "./TaskFilterForm";
import { TaskIdSearch } from "./TaskIdSearch";
import { TaskTable } from "./TaskTable";

/** History search with the filters in the URL, and the task `?task=` names open beside it. */
export function TasksPage() {
  const search = useSearch({ from: "/tasks" });
  const navigate = useNavigate({ from: "/tasks" });
  const filters = filtersOf(search);
  const history = useTaskHistory(filters);
  const pages = history.data?.pages;
  // Asked here, not in the panel, so one poll feeds both the panel and the task's row.
  const open = useTask(search.task);
  const rows = useMemo(
    () => withTask(pages?.flatMap((page) => page.items) ?? [], open.data),
    [pages, open.data],
  );
  const error = history.error instanceof ApiError ? history.error : null;
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = history;

  const loadMore = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);

  function apply(next: TaskFilters) {
    void navigate({ search: (prev) => ({ ...next, task: prev.task }) });
  }

  return (
    <section className="tasks-page">
      <div className="page-header">
        <h1>Tasks</h1>
        <div className="actions">
          <TaskIdSearch key={search.task ?? ""} current={search.task} />
        </div>
      </div>
      <TaskFilterForm
        key={JSON.stringify(filters)}
        filters={filters}
        error={error}
        onApply={apply}
      />
      <div className={search.task ? "tasks-layout with-detail" : "tasks-layout"}>
        <div className="panel task-history">
          {history.error && (
            <p role="alert" className="field-error">
              {errorMessage(history.error)}
            </p>
          )}
          {history.isPending && <p className="muted">Loading the history…</p>}
          {history.isSuccess && rows.length === 0 && (
            <p className="muted">No task matches these filters.</p>
          )}
          {rows.length > 0 && (
            <TaskTable
              // Other filters, other rows: start again at the top.
              key={JSON.stringify(filters)}
              rows={rows}
              openId={search.task}
              hasMore={hasNextPage}
              loadingMore={isFetchingNextPage}
              onLoadMore={loadMore}
            />
          )}
          <div className="task-history-footer">
            <span className="muted" aria-live="polite">
              {formatCount(rows.length)} {rows.length === 1 ? "task" : "tasks"} shown
              {history.isSuccess && !hasNextPage && rows.length > 0 ? " · end of the history" : ""}
            </span>
            {hasNextPage && (
              <button type="button" onClick={loadMore} disabled={isFetchingNextPage}>
                {isFetchingNextPage ? "Loading…" : "Load more"}
              </button>
            )}
            <button
              type="button"
              onClick={() => void history.refetch()}
              disabled={history.isFetching}
            >
              Refresh
            </button>
          </div>
        </div>
        {search.task && <TaskDetailPanel key={search.task} id={search.task} task={open} />}
      </div>
    </section>
  );
}
