export * from './training-config';
export * from './events';
export * from './documents';
export * from './metrics';
export * from './privacy';
export * from './report';
