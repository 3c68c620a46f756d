import {
  GoogleGenerativeAI,
  GoogleGenerativeAIAbortError,
  GoogleGenerativeAIFetchError,
} from '@google/generative-ai';
import type { LanguageModel, LanguageModelRequest } from '../../ports/language-model';
import { retryWithBackoff, type RetryPolicy } from './retry-with-backoff';

/**
 * LanguageModel on Gemini through `@google/generative-ai`. The agents treat prose as garnish, so
 * this adapter must fail clearly rather than hang: every call has a timeout, 429 and 5xx answers
 * and timeouts are retried with backoff, and other errors (a bad key, a blocked prompt) surface at
 * once. The API key comes from the environment only (Cloud Run / Functions inject it from Secret
 * Manager); it is never in the repo, never logged and never part of an error message.
 */
export interface GeminiLanguageModelOptions {
  apiKey: string;
  /** Model name, e.g. `gemini-2.5-flash`. */
  model: string;
  /** Per-call timeout (default 30 s). */
  timeoutMs?: number;
  /** Default answer length when the request names none (default 1024 tokens). */
  maxOutputTokens?: number;
  /** API endpoint override (tests); default https://generativelanguage.googleapis.com. */
  baseUrl?: string;
  retry?: RetryPolicy;
}

export class LanguageModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LanguageModelError';
  }
}

function isTransient(error: unknown): boolean {
  if (error instanceof GoogleGenerativeAIAbortError) return true;
  if (error instanceof GoogleGenerativeAIFetchError) {
    const status = error.status ?? 0;
    return status === 429 || status >= 500;
  }
  // fetch itself failed (connection reset, DNS): as transient as a 503.
  return error instanceof TypeError && /fetch failed/i.test(error.message);
}

export class GeminiLanguageModel implements LanguageModel {
  readonly name: string;
  private readonly client: GoogleGenerativeAI;

  constructor(private readonly options: GeminiLanguageModelOptions) {
    if (!options.apiKey) throw new LanguageModelError('Gemini needs an API key (GEMINI_API_KEY)');
    if (!options.model) throw new LanguageModelError('Gemini needs a model name (HIMAS_GEMINI_MODEL)');
    this.name = options.model;
    this.client = new GoogleGenerativeAI(options.apiKey);
  }

  async generate(request: LanguageModelRequest): Promise<string> {
    const model = this.client.getGenerativeModel(
      {
        model: this.options.model,
        systemInstruction: request.system,
        generationConfig: {
          maxOutputTokens: request.maxOutputTokens ?? this.options.maxOutputTokens ?? 1024,
        },
      },
      this.options.baseUrl ? { baseUrl: this.options.baseUrl } : {},
    );
    let text: string;
    try {
      const result = await retryWithBackoff(
        () => this.withTimeout((signal) => model.generateContent(request.prompt, { signal })),
        isTransient,
        this.options.retry,
      );
      text = result.response.text();
    } catch (error) {
      const status = error instanceof GoogleGenerativeAIFetchError ? ` (HTTP ${error.status})` : '';
      throw new LanguageModelError(
        `${this.name} did not answer${status}: ${redact((error as Error).message, this.options.apiKey)}`,
      );
    }
    if (text.trim() === '') throw new LanguageModelError(`${this.name} answered with no text`);
    return text.trim();
  }

  /**
   * The client's own `timeout` option leaves its timer running after the answer; an AbortSignal
   * whose timer is cleared here does the same job without keeping the process alive.
   */
  private async withTimeout<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs ?? 30_000);
    try {
      return await call(controller.signal);
    } finally {
      clearTimeout(timer);
    }
  }
}

function redact(message: string, secret: string): string {
  return message.split(secret).join('<api key>');
}
