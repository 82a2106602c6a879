export function AuditPage() {
  return (
    <section>
      <h1>Audit</h1>
    </section>
  );
}
