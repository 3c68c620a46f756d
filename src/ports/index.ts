export * from './errors';
export * from './document-store';
export * from './blob-store';
export * from './event-bus';
export * from './job-runner';
export * from './model-registry';
export * from './cohort-source';
export * from './clock';
