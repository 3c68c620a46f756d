/**
 * Writes prose for the agents (run summaries, clinical narratives). Optional garnish: every agent
 * works with its deterministic template writer and calls a language model only when one is
 * configured. Adapters: Gemini through `@google/generative-ai` (src/adapters/gcp) in the cloud.
 */
export interface LanguageModelRequest {
  /** Instructions that frame the task (sent as the system instruction). */
  system: string;
  /** The facts to write from; callers must not put identifiers or record-level values here. */
  prompt: string;
  /** Upper bound on the length of the answer. */
  maxOutputTokens?: number;
}

export interface LanguageModel {
  /** A short name for logs and audit rows, e.g. `gemini-2.5-flash`. */
  readonly name: string;
  generate(request: LanguageModelRequest): Promise<string>;
}
