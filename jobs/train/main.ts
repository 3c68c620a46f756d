import { runTrainJobProcess } from './index';

// Entry point of the hospital training job (Cloud Run job container command, and the process the
// local job runner starts). Exit code 0 = success, 1 = failure (Cloud Run retries the task).
runTrainJobProcess(process.env).then((code) => {
  process.exitCode = code;
});
