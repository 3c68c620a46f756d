# The names the code relies on, in one place (docs/architecture.md section 2). test/infra compares
# these locals with the code's exported constants (schemas/events.ts TOPICS and deadLetterTopic,
# src/local/embedded-platform.ts AGGREGATOR_SUBSCRIPTIONS and AGENT_SUBSCRIPTIONS, schemas/documents.ts
# paths, schemas/warehouse.ts WAREHOUSE_TABLES, the entry points registered in functions/**/index.ts,
# src/config/stack-config.ts STACK_ENV_VARS, src/config/job-env.ts) and with
# workflows/federated-training.yaml:
# change a name in the code and here together, or the contract test fails naming it.
locals {
  topics = {
    rounds  = "himas-rounds"
    updates = "himas-updates"
    models  = "himas-models"
    alerts  = "himas-alerts"
  }

  # deadLetterTopic(topic) in schemas/events.ts, spelled out so the names are greppable in one place.
  dead_letter_topics = {
    rounds  = "himas-rounds-dead-letter"
    updates = "himas-updates-dead-letter"
    models  = "himas-models-dead-letter"
    alerts  = "himas-alerts-dead-letter"
  }

  # The aggregator's subscriptions (AGGREGATOR_SUBSCRIPTIONS), both pushed to one aggregation function.
  aggregator_subscriptions = {
    "himas-aggregate-updates" = "updates"
    "himas-aggregate-rounds"  = "rounds"
  }

  # The agents' subscriptions (AGENT_SUBSCRIPTIONS): name => the topic key and the function it pushes to.
  agent_subscriptions = {
    "himas-agent-privacy-guardian" = { topic = "models", function = "himas-privacy-guardian" }
    "himas-agent-orchestrator"     = { topic = "models", function = "himas-orchestrator" }
  }

  # Firestore collection ids of schemas/documents.ts `paths` (runs/{runId}/statistics/..., models/...).
  firestore_collections = {
    runs        = "runs"
    statistics  = "statistics"
    rounds      = "rounds"
    updates     = "updates"
    models      = "models"
    evaluations = "evaluations"
    hospitals   = "hospitals"
    audit       = "audit"
  }

  # Cloud Functions: name => entry point registered with functions-framework in functions/**/index.ts.
  functions = {
    "himas-aggregate"        = { entry_point = "aggregate", source_dir = "functions/aggregate" }
    "himas-coordinator"      = { entry_point = "coordinator", source_dir = "functions/coordinator" }
    "himas-privacy-guardian" = { entry_point = "privacyGuardian", source_dir = "functions/agents/privacy-guardian" }
    "himas-orchestrator"     = { entry_point = "orchestrator", source_dir = "functions/agents/orchestrator" }
  }

  # Cloud Run job of hospital <id> is `${local.job_prefix}<id>` (src/local/training-driver.ts).
  job_prefix = "himas-train-"

  # The gcp stack's environment (src/config/stack-config.ts STACK_ENV_VARS): every job and function
  # gets these; a job also gets its hospital id, cohort folder and key folder (modules/hospital).
  # The emulator-only variables (PUBSUB_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST, HIMAS_BLOB_DIR) are
  # never set here: with HIMAS_STACK=gcp the code refuses to start if an emulator host is set.
  stack_env = {
    HIMAS_STACK   = "gcp"
    HIMAS_PROJECT = var.project_id
    HIMAS_REGION  = var.region
    HIMAS_BUCKET  = google_storage_bucket.artifacts.name
  }

  # Variables the workflow reads with sys.get_env (GOOGLE_CLOUD_* are Workflows built-ins).
  workflow_env = {
    HIMAS_REGION          = var.region
    HIMAS_COORDINATOR_URL = google_cloudfunctions2_function.functions["himas-coordinator"].url
    HIMAS_TOPIC_ROUNDS    = google_pubsub_topic.topics["rounds"].name
    HIMAS_JOB_PREFIX      = local.job_prefix
    HIMAS_HOSPITALS       = join(",", sort(keys(var.hospitals)))
    HIMAS_DATA_KIND       = "bigquery"
    HIMAS_DATA_LOCATION   = "${var.project_id}.${local.cohort_dataset_prefix}<hospital>.cohort"
  }

  # The agents' warehouse (schemas/warehouse.ts WAREHOUSE_TABLES): table => the component writing it.
  warehouse_dataset = "himas_agents"
  warehouse_tables = {
    privacy_audit = "privacy-guardian"
    run_progress  = "orchestrator"
  }

  # BigQuery dataset of hospital <id>: himas_<id with '-' as '_'> (dataset ids allow no '-').
  cohort_dataset_prefix = "himas_"

  # The structured log events (src/logs.ts `event` field) that metrics, alerts and sinks filter on.
  log_events = {
    round_closed     = "round.closed"
    round_failed     = "round.failed"
    update_rejected  = "update.rejected"
    update_accepted  = "update.accepted"
    message_rejected = "message.rejected"
    run_halted       = "run.halted"
    run_created      = "run.created"
    job_trained      = "job.trained"
    job_finished     = "job.finished"
    job_failed       = "job.failed"
  }
}
