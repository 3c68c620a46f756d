export * from './fixed-point';
export * from './modular-sum';
export * from './pairwise-masks';
export * from './unmask';
