import { randomUUID } from 'node:crypto';
import { openStackPorts, readStackConfig, type StackPorts } from '../config/stack-config';
import { initializeBackend } from '../core/model';
import { jsonLogger } from '../logging/logger';
import { systemClock } from '../ports/clock';
import { Aggregator } from '../services/aggregator';
import { Coordinator } from '../services/coordinator';
import { RunLifecycle } from '../services/run-lifecycle';
import { CryptoRandom } from './crypto-random';

/**
 * The services the deployed functions run, over the ports of the stack their environment names
 * (HIMAS_STACK=gcp in the cloud, emulators under `himas stack up`). Built once per function
 * instance: the entry points keep the promise, so a cold start opens the clients once.
 */
let ports: StackPorts | undefined;
function stackPorts(env: NodeJS.ProcessEnv): StackPorts {
  ports ??= openStackPorts(readStackConfig(env));
  return ports;
}

export async function aggregatorFromStack(env: NodeJS.ProcessEnv = process.env): Promise<Aggregator> {
  return new Aggregator({
    ...stackPorts(env),
    clock: systemClock,
    logger: jsonLogger(process.stdout, 'aggregate'),
    random: new CryptoRandom(),
    // Cloud Functions names the instance in K_REVISION; the uuid tells instances of one revision apart.
    instanceId: `aggregator-${env.K_REVISION ?? 'local'}-${randomUUID().slice(0, 8)}`,
  });
}

export async function coordinatorFromStack(env: NodeJS.ProcessEnv = process.env): Promise<Coordinator> {
  // The coordinator builds the initial model with TensorFlow.js.
  await initializeBackend((env.HIMAS_TF_BACKEND as 'auto') ?? 'auto');
  const lifecycle = new RunLifecycle({
    ...stackPorts(env),
    clock: systemClock,
    logger: jsonLogger(process.stdout, 'coordinator'),
  });
  return new Coordinator(lifecycle);
}
