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
    # Clinical decision support reloads its model on model.published (an HTTP function: the push lands beside POST /predict).
    "himas-agent-clinical-decision-support" = { topic = "models", function = "himas-clinical-decision-support" }
    # The hospitals' aggregate releases (surveillance.reported, treatment.reported) on himas-updates.
    "himas-agent-disease-surveillance"   = { topic = "updates", function = "himas-disease-surveillance" }
    "himas-agent-treatment-optimization" = { topic = "updates", function = "himas-treatment-optimization" }
  }

  # Firestore collection ids of schemas/documents.ts `paths` (runs/{runId}/rounds/..., models/...).
  firestore_collections = {
    runs        = "runs"
    rounds      = "rounds"
    updates     = "updates"
    models      = "models"
    evaluations = "evaluations"
    hospitals   = "hospitals"
    audit       = "audit"
    seeds       = "seeds" # runs/{runId}/rounds/{round}/seeds/{survivor}: secure-aggregation seed reveals
  }

  # Cloud Functions: name => entry point registered with functions-framework in functions/**/index.ts.
  functions = {
    "himas-aggregate"                 = { entry_point = "aggregate", source_dir = "functions/aggregate" }
    "himas-coordinator"               = { entry_point = "coordinator", source_dir = "functions/coordinator" }
    "himas-privacy-guardian"          = { entry_point = "privacyGuardian", source_dir = "functions/agents/privacy-guardian" }
    "himas-orchestrator"              = { entry_point = "orchestrator", source_dir = "functions/agents/orchestrator" }
    "himas-clinical-decision-support" = { entry_point = "clinicalDecisionSupport", source_dir = "functions/agents/clinical-decision-support" }
    "himas-disease-surveillance"      = { entry_point = "diseaseSurveillance", source_dir = "functions/agents/disease-surveillance" }
    "himas-treatment-optimization"    = { entry_point = "treatmentOptimization", source_dir = "functions/agents/treatment-optimization" }
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

  # The gcp stack's optional services (src/config/stack-config.ts CLOUD_SERVICE_ENV_VARS), given to
  # every function: an empty value means unset (Vertex mirror off, template writers instead of Gemini).
  # GEMINI_API_KEY is never a plain variable: it comes from Secret Manager (main.tf).
  cloud_service_env = {
    HIMAS_WAREHOUSE_DATASET          = local.warehouse_dataset
    HIMAS_BIGQUERY_LOCATION          = var.data_location
    HIMAS_VERTEX_MODEL               = var.vertex_model_id
    HIMAS_VERTEX_REGION              = var.region
    HIMAS_VERTEX_SERVING_IMAGE       = var.vertex_serving_image
    HIMAS_GEMINI_MODEL               = var.gemini_model
    HIMAS_CLINICAL_LLM_RECORD_VALUES = var.clinical_llm_record_values ? "true" : "false"
  }

  # Variables the workflow reads with sys.get_env (GOOGLE_CLOUD_* are Workflows built-ins).
  workflow_env = {
    HIMAS_REGION = var.region
    # The service's root URL (run.app): Cloud Run accepts only it as an OIDC audience, and the
    # workflow sends it as `audience` on every call (https://cloud.google.com/run/docs/authenticating/service-to-service).
    HIMAS_COORDINATOR_URL = google_cloudfunctions2_function.functions["himas-coordinator"].service_config[0].uri
    HIMAS_TOPIC_ROUNDS    = google_pubsub_topic.topics["rounds"].name
    HIMAS_JOB_PREFIX      = local.job_prefix
    # Only hospitals whose job exists (its signing key is enrolled: modules/hospital).
    HIMAS_HOSPITALS            = join(",", sort([for id, h in var.hospitals : id if h.signing_key_version != null]))
    HIMAS_DECLARED_TRAIN_STAYS = jsonencode({ for id, h in var.hospitals : id => h.declared_train_stays })
    # The deployed cohort path: each job reads <hospital>.train.csv and .test.csv from its own
    # bucket, mounted at HIMAS_DATA_DIR (modules/hospital); runs are labelled with what they read.
    HIMAS_DATA_KIND     = "csv"
    HIMAS_DATA_LOCATION = "gs://${var.project_id}-himas-cohort-<hospital>/"
  }

  # The agents' warehouse (schemas/warehouse.ts WAREHOUSE_TABLES): table => the component writing it.
  warehouse_dataset = "himas_agents"
  warehouse_tables = {
    privacy_audit         = "privacy-guardian"
    run_progress          = "orchestrator"
    surveillance_releases = "disease-surveillance"
    surveillance_alerts   = "disease-surveillance"
    treatment_tables      = "treatment-optimization"
    treatment_estimates   = "treatment-optimization"
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
