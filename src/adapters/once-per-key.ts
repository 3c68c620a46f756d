/**
 * Runs an async setup step (creating a table, say) at most once per key while it succeeds; a
 * failed attempt is forgotten so the next caller retries instead of inheriting the rejection.
 */
export class OncePerKey {
  private readonly running = new Map<string, Promise<void>>();

  run(key: string, setUp: () => Promise<void>): Promise<void> {
    let attempt = this.running.get(key);
    if (!attempt) {
      attempt = setUp();
      this.running.set(key, attempt);
      attempt.catch(() => this.running.delete(key));
    }
    return attempt;
  }
}
