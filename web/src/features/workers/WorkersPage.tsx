export function WorkersPage() {
  return (
    <section>
      <h1>Workers</h1>
    </section>
  );
}
