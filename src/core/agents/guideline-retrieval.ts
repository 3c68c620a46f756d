import { GUIDELINE_PASSAGES, type GuidelinePassage } from './guideline-corpus';

/**
 * Deterministic retrieval over the guideline corpus with Okapi BM25 (Robertson & Zaragoza 2009,
 * "The probabilistic relevance framework: BM25 and beyond", eq. 3.15 with the non-negative IDF
 * ln(1 + (N − n + ½)/(n + ½)) that Lucene uses), k1 = 1.2, b = 0.75. A passage's document is its
 * title, text and tags; a query is weighted terms, so concrete findings can count more than
 * features that merely moved the estimate.
 */
export const BM25_K1 = 1.2;
export const BM25_B = 0.75;

/** Words that carry no clinical meaning here (including the feature names' aggregation suffixes). */
const STOPWORDS = new Set(
  'a an and are as at be by for from in is it of on or the to with without than that this its into min max mean total per can not no more less'.split(
    ' ',
  ),
);

/** Lower case, split on anything but letters and digits, drop stopwords, strip a plural s. */
export function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .normalize('NFKD')
    .split(/[^a-z0-9]+/)
    .filter((t) => t.length > 1 && !STOPWORDS.has(t))
    .map((t) => (t.length > 4 && t.endsWith('s') && !t.endsWith('ss') ? t.slice(0, -1) : t));
}

export interface QueryTerm {
  term: string;
  weight: number;
}

export interface RetrievedPassage {
  passage: GuidelinePassage;
  score: number;
  /** The query terms this passage matched, for the audit of why it was cited. */
  matched: string[];
}

export class GuidelineIndex {
  private readonly docs: { passage: GuidelinePassage; counts: Map<string, number>; length: number }[];
  private readonly documentFrequency = new Map<string, number>();
  private readonly averageLength: number;

  constructor(passages: readonly GuidelinePassage[] = GUIDELINE_PASSAGES) {
    this.docs = passages.map((passage) => {
      const tokens = tokenize(`${passage.title} ${passage.text} ${passage.tags.join(' ')}`);
      const counts = new Map<string, number>();
      for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
      return { passage, counts, length: tokens.length };
    });
    for (const doc of this.docs)
      for (const term of doc.counts.keys())
        this.documentFrequency.set(term, (this.documentFrequency.get(term) ?? 0) + 1);
    this.averageLength = this.docs.reduce((s, d) => s + d.length, 0) / Math.max(1, this.docs.length);
  }

  /** The best `limit` passages with a positive score, best first; ties keep corpus order. */
  search(query: readonly QueryTerm[], limit = 3): RetrievedPassage[] {
    const weights = new Map<string, number>();
    for (const q of query) for (const t of tokenize(q.term)) weights.set(t, (weights.get(t) ?? 0) + q.weight);
    const n = this.docs.length;
    const scored = this.docs.map((doc, order) => {
      let score = 0;
      const matched: string[] = [];
      for (const [term, weight] of weights) {
        const tf = doc.counts.get(term) ?? 0;
        if (tf === 0) continue;
        const df = this.documentFrequency.get(term) ?? 0;
        const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
        const norm = tf + BM25_K1 * (1 - BM25_B + (BM25_B * doc.length) / this.averageLength);
        score += weight * idf * ((tf * (BM25_K1 + 1)) / norm);
        matched.push(term);
      }
      return { passage: doc.passage, score, matched, order };
    });
    return scored
      .filter((s) => s.score > 0)
      .sort((a, b) => b.score - a.score || a.order - b.order)
      .slice(0, limit)
      .map(({ passage, score, matched }) => ({ passage, score, matched }));
  }
}
