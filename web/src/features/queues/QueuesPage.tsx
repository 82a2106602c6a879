export function QueuesPage() {
  return (
    <section>
      <h1>Queues</h1>
    </section>
  );
}
