data "google_project" "this" {
  project_id = var.project_id
}

locals {
  apis = toset([
    "aiplatform.googleapis.com",
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
    "workflowexecutions.googleapis.com",
    "workflows.googleapis.com",
  ])

  # aiplatform: the Vertex AI mirror (var.vertex_model_id); cloudresourcemanager: project IAM and
  # data.google_project.

  # One service account per component; hospitals get theirs in modules/hospital. The account id is
  # himas-<key>, and the provider accepts 6 to 30 characters (ValidateRFC1035Name(6, 30) in
  # resource_google_service_account.go): keys stay within 24 (test/infra checks every account id).
  components = {
    aggregator       = "HIMAS aggregation function"
    coordinator      = "HIMAS coordinator function"
    workflow         = "HIMAS federated-training workflow"
    "pubsub-push"    = "Identity of the Pub/Sub push subscriptions that invoke the aggregator"
    "function-build" = "Cloud Build identity that builds the functions from source"
    # The agents on model.published (functions/agents/*), one identity each.
    "privacy-guardian" = "HIMAS privacy guardian agent function"
    orchestrator       = "HIMAS orchestrator agent function"
    # Clinical decision support (POST /predict), reloading on model.published.
    "clinical-support" = "HIMAS clinical decision support function"
    # The agents on the hospitals' aggregate releases (himas-updates).
    "disease-surveillance"   = "HIMAS disease surveillance agent function"
    "treatment-optimization" = "HIMAS treatment optimization agent function"
  }

  # Project-level roles, the narrowest that exist for each need. Firestore IAM cannot be scoped to a
  # collection, so datastore.user is project-wide (see docs/operations.md, "Isolation").
  project_roles = {
    "aggregator|roles/datastore.user"                  = "aggregator"
    "coordinator|roles/datastore.user"                 = "coordinator"
    "privacy-guardian|roles/datastore.user"            = "privacy-guardian"
    "orchestrator|roles/datastore.user"                = "orchestrator"
    "clinical-support|roles/datastore.viewer"          = "clinical-support"          # reads runs/{run} and models/{version}, writes nothing
    "disease-surveillance|roles/datastore.user"        = "disease-surveillance"      # reads runs/{run}
    "treatment-optimization|roles/datastore.user"      = "treatment-optimization"    # reads runs/{run}
    # Inserting a warehouse row is idempotent on its key (schemas/warehouse.ts), i.e. a MERGE: a job.
    "privacy-guardian|roles/bigquery.jobUser"       = "privacy-guardian"
    "orchestrator|roles/bigquery.jobUser"           = "orchestrator"
    "disease-surveillance|roles/bigquery.jobUser"   = "disease-surveillance"
    "treatment-optimization|roles/bigquery.jobUser" = "treatment-optimization"
    "workflow|roles/datastore.viewer"               = "workflow" # polls runs/{run}/rounds/{round}
    "workflow|roles/run.viewer"                     = "workflow" # the jobs.run connector polls the execution
    "workflow|roles/logging.logWriter"              = "workflow" # sys.log and call logging
    "function-build|roles/logging.logWriter"        = "function-build"
    "function-build|roles/artifactregistry.writer"  = "function-build" # pushes the built function image
  }

  # The agents that write prose with Gemini (src/config/stack-config.ts GEMINI_API_KEY): only these
  # functions get the key mounted, and only these identities may read its secret.
  gemini_readers = toset(["orchestrator", "clinical-support"])
  gemini_functions = var.gemini_model == "" ? toset([]) : toset([
    for name, f in local.function_settings : name if contains(local.gemini_readers, f.service_account)
  ])

  # Who publishes where (least privilege per topic). Hospital jobs publish to himas-updates (module).
  topic_publishers = {
    "aggregator|rounds"           = "aggregator"           # round.closed, round.failed
    "aggregator|models"           = "aggregator"           # model.published
    "aggregator|alerts"           = "aggregator"           # privacy.alert
    "workflow|rounds"             = "workflow"             # round.started, round.deadline
    "privacy-guardian|alerts"     = "privacy-guardian"     # privacy.alert on a recomputed epsilon over budget
    "disease-surveillance|alerts" = "disease-surveillance" # surveillance.alert
  }

  function_settings = {
    "himas-aggregate" = {
      service_account = "aggregator"
      memory          = "2Gi"
      cpu             = "1"
      timeout_seconds = 540
      min_instances   = 0
      max_instances   = var.aggregator_max_instances
    }
    "himas-coordinator" = {
      service_account = "coordinator"
      memory          = "2Gi" # builds the initial model with TensorFlow.js
      cpu             = "1"
      timeout_seconds = 300
      min_instances   = 0
      max_instances   = 3
    }
    "himas-privacy-guardian" = {
      service_account = "privacy-guardian"
      memory          = "512Mi"
      cpu             = "1"
      timeout_seconds = 300
      min_instances   = 0
      max_instances   = 3
    }
    "himas-orchestrator" = {
      service_account = "orchestrator"
      memory          = "512Mi"
      cpu             = "1"
      timeout_seconds = 300
      min_instances   = 0
      max_instances   = 3
    }
    # One instance: the agent handles releases one at a time, so two last releases arriving together
    # cannot both publish the same alert (src/services/surveillance-agent.ts).
    "himas-disease-surveillance" = {
      service_account = "disease-surveillance"
      memory          = "512Mi"
      cpu             = "1"
      timeout_seconds = 300
      min_instances   = 0
      max_instances   = 1
    }
    # Loads one TF.js model per instance and scores a stay in milliseconds.
    "himas-clinical-decision-support" = {
      service_account = "clinical-support"
      memory          = "1Gi"
      cpu             = "1"
      timeout_seconds = 60
      min_instances   = 0
      max_instances   = 5
    }
    "himas-treatment-optimization" = {
      service_account = "treatment-optimization"
      memory          = "512Mi"
      cpu             = "1"
      timeout_seconds = 300
      min_instances   = 0
      max_instances   = 1
    }
  }

  # Where Cloud Functions keeps the uploaded source of this region's functions (created by the service).
  function_sources_bucket = "gcf-v2-sources-${data.google_project.this.number}-${var.region}"

  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_project_service" "apis" {
  for_each           = local.apis
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

resource "google_service_account" "components" {
  for_each     = local.components
  project      = var.project_id
  account_id   = "himas-${each.key}"
  display_name = each.value
  depends_on   = [google_project_service.apis]
}

resource "google_project_iam_member" "components" {
  for_each = local.project_roles
  project  = var.project_id
  role     = split("|", each.key)[1]
  member   = google_service_account.components[each.value].member
}

# ---------------------------------------------------------------- Pub/Sub
resource "google_pubsub_topic" "topics" {
  for_each                   = local.topics
  project                    = var.project_id
  name                       = each.value
  message_retention_duration = "86400s"
  depends_on                 = [google_project_service.apis]
}

resource "google_pubsub_topic" "dead_letter" {
  for_each                   = local.dead_letter_topics
  project                    = var.project_id
  name                       = each.value
  message_retention_duration = "604800s"
  depends_on                 = [google_project_service.apis]
}

# A dead-lettered message is only kept if its topic has a subscription: operators pull (and replay)
# from these. https://cloud.google.com/pubsub/docs/handling-failures
resource "google_pubsub_subscription" "dead_letter_hold" {
  for_each                   = local.dead_letter_topics
  project                    = var.project_id
  name                       = "${each.value}-hold"
  topic                      = google_pubsub_topic.dead_letter[each.key].id
  message_retention_duration = "604800s"
  ack_deadline_seconds       = 60
  expiration_policy {
    ttl = ""
  }
}

# Why push subscriptions rather than a function event_trigger: a gen2 function has one Eventarc
# trigger, and the subscription Eventarc creates for it gets a generated name and no dead-letter
# policy. The code names the aggregator's two subscriptions (AGGREGATOR_SUBSCRIPTIONS) and relies on
# dead-lettering after maxDeliveryAttempts, so Terraform owns both subscriptions and pushes them to
# ONE aggregation function, exactly as the embedded platform wires it. functions-framework turns a
# raw Pub/Sub push into the same messagePublished CloudEvent Eventarc would deliver (its
# legacyPubSubEventMiddleware reads the topic from the /projects/<p>/topics/<t> path).
resource "google_pubsub_subscription" "aggregator" {
  for_each                   = local.aggregator_subscriptions
  project                    = var.project_id
  name                       = each.key
  topic                      = google_pubsub_topic.topics[each.value].id
  ack_deadline_seconds       = 600 # aggregation with a quorum can take minutes
  message_retention_duration = "604800s"

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.functions["himas-aggregate"].service_config[0].uri}/projects/${var.project_id}/topics/${google_pubsub_topic.topics[each.value].name}"
    oidc_token {
      service_account_email = google_service_account.components["pubsub-push"].email
      audience              = google_cloudfunctions2_function.functions["himas-aggregate"].service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter[each.value].id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }
}

# The agents' subscriptions (AGENT_SUBSCRIPTIONS) on himas-models, one per agent function, pushed the
# same way as the aggregator's and dead-lettered to himas-models-dead-letter.
resource "google_pubsub_subscription" "agents" {
  for_each                   = local.agent_subscriptions
  project                    = var.project_id
  name                       = each.key
  topic                      = google_pubsub_topic.topics[each.value.topic].id
  ack_deadline_seconds       = 300
  message_retention_duration = "604800s"

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.functions[each.value.function].service_config[0].uri}/projects/${var.project_id}/topics/${google_pubsub_topic.topics[each.value.topic].name}"
    oidc_token {
      service_account_email = google_service_account.components["pubsub-push"].email
      audience              = google_cloudfunctions2_function.functions[each.value.function].service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter[each.value.topic].id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_topic_iam_member" "publishers" {
  for_each = local.topic_publishers
  project  = var.project_id
  topic    = google_pubsub_topic.topics[split("|", each.key)[1]].name
  role     = "roles/pubsub.publisher"
  member   = google_service_account.components[each.value].member
}

# Dead-lettering is done by the Pub/Sub service agent: it must publish to the dead-letter topic and
# subscribe to the source subscription (https://cloud.google.com/pubsub/docs/handling-failures).
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  for_each = local.dead_letter_topics
  project  = var.project_id
  topic    = google_pubsub_topic.dead_letter[each.key].name
  role     = "roles/pubsub.publisher"
  member   = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each     = local.aggregator_subscriptions
  project      = var.project_id
  subscription = google_pubsub_subscription.aggregator[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "agent_dead_letter_subscriber" {
  for_each     = local.agent_subscriptions
  project      = var.project_id
  subscription = google_pubsub_subscription.agents[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

# The operator's dead-letter replay (docs/operations.md, "Recovery runbook"): `himas deadletter`
# pulls, acknowledges and releases (modifyAckDeadline) on a hold subscription — all
# pubsub.subscriptions.consume, i.e. roles/pubsub.subscriber on that subscription alone — and
# publishes each message unchanged to the topic it came from, so roles/pubsub.publisher on the four
# source topics only: no project role, no access to the function subscriptions or the dead-letter
# topics themselves.
locals {
  operator_grants = {
    for pair in setproduct(keys(local.dead_letter_topics), var.operator_members) : "${pair[0]}|${pair[1]}" => pair[0]
  }
}

resource "google_pubsub_subscription_iam_member" "operator_dead_letter_hold" {
  for_each     = local.operator_grants
  project      = var.project_id
  subscription = google_pubsub_subscription.dead_letter_hold[each.value].name
  role         = "roles/pubsub.subscriber"
  member       = split("|", each.key)[1]
}

resource "google_pubsub_topic_iam_member" "operator_replay" {
  for_each = local.operator_grants
  project  = var.project_id
  topic    = google_pubsub_topic.topics[each.value].name
  role     = "roles/pubsub.publisher"
  member   = split("|", each.key)[1]
}

# The service agent mints the OIDC token of the push identity.
resource "google_service_account_iam_member" "push_token_creator" {
  service_account_id = google_service_account.components["pubsub-push"].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}

# ---------------------------------------------------------------- Storage
# One bucket, the BlobStore of the code (HIMAS_BUCKET): runs/<run>/... (updates, releases,
# strategy state; deleted after update_retention_days) and models/<version>/ (kept, versioned).
resource "google_storage_bucket" "artifacts" {
  project                     = var.project_id
  name                        = "${var.project_id}-himas-artifacts"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age            = var.update_retention_days
      matches_prefix = ["runs/"]
    }
    action {
      type = "Delete"
    }
  }

  # Versioning exists for models; overwritten or deleted copies of anything go after 30 days.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_iam_member" "artifacts" {
  for_each = toset(["aggregator", "coordinator"])
  bucket   = google_storage_bucket.artifacts.name
  role     = "roles/storage.objectUser"
  member   = google_service_account.components[each.value].member
}

# Clinical decision support reads the model versions it serves (models/<version>/model.json and
# weights.bin, schemas/documents.ts blobPaths.modelPrefix): read-only, and only those objects.
resource "google_storage_bucket_iam_member" "clinical_reads_models" {
  bucket = google_storage_bucket.artifacts.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.components["clinical-support"].member

  condition {
    title       = "read-model-versions"
    description = "Only the model versions under models/"
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.artifacts.name}/objects/models/\")"
  }
}

# The privacy guardian recomputes epsilon from the hospitals' published privacy ledgers,
# ledgers/<hospital>/<sequence>.json (schemas/documents.ts blobPaths.ledgerMirror), read by name
# (never listed): read-only, and only those objects.
resource "google_storage_bucket_iam_member" "guardian_reads_ledgers" {
  bucket = google_storage_bucket.artifacts.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.components["privacy-guardian"].member

  condition {
    title       = "read-privacy-ledgers"
    description = "Only the published privacy ledgers under ledgers/"
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.artifacts.name}/objects/ledgers/\")"
  }
}

resource "google_storage_bucket" "function_source" {
  project                     = var.project_id
  name                        = "${var.project_id}-himas-function-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  depends_on                  = [google_project_service.apis]
}

resource "google_storage_bucket_iam_member" "function_source_reader" {
  bucket = google_storage_bucket.function_source.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.components["function-build"].member
}

# Cloud Functions copies the uploaded source into its own bucket gcf-v2-sources-<project number>-<region>
# and the build reads it from there (provider issue #20571; "Cloud Run functions build service
# account" docs: Storage Object Admin "for retrieving the function source"). That bucket only exists
# after the first deployment, so a bucket binding cannot be made before it: a project binding,
# conditioned on that one bucket's name.
resource "google_project_iam_member" "function_build_reads_sources" {
  project = var.project_id
  role    = "roles/storage.objectAdmin"
  member  = google_service_account.components["function-build"].member

  condition {
    title       = "gcf-v2-sources"
    description = "Only the Cloud Functions source bucket of this project and region"
    expression  = "resource.name.startsWith(\"projects/_/buckets/${local.function_sources_bucket}\")"
  }
}

# IAM grants take up to a few minutes to reach the build; the provider's "Cloudfunctions2 Basic
# Builder" example waits like this before the first function build.
resource "time_sleep" "function_build_iam" {
  create_duration = "60s"
  depends_on = [
    google_project_iam_member.components,
    google_project_iam_member.function_build_reads_sources,
    google_storage_bucket_iam_member.function_source_reader,
  ]
}

# ---------------------------------------------------------------- Images
resource "google_artifact_registry_repository" "images" {
  project       = var.project_id
  location      = var.region
  repository_id = "himas"
  format        = "DOCKER"
  description   = "HIMAS hospital training job images (jobs/train/Dockerfile)"

  # A KEEP policy alone deletes nothing: DELETE selects what goes (anything older than 30 days) and
  # KEEP, which wins over DELETE, spares the 10 newest (https://cloud.google.com/artifact-registry/docs/repositories/cleanup-policy).
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      tag_state  = "ANY"
      older_than = "2592000s"
    }
  }

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 10
    }
  }

  depends_on = [google_project_service.apis]
}

# ---------------------------------------------------------------- Firestore
resource "google_firestore_database" "default" {
  project                 = var.project_id
  name                    = "(default)" # the workflow reads projects/<p>/databases/(default)/documents
  location_id             = var.firestore_location
  type                    = "FIRESTORE_NATIVE"
  delete_protection_state = var.deletion_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy         = var.deletion_protection ? "ABANDON" : "DELETE"
  depends_on              = [google_project_service.apis]
}

# No composite index: ModelRegistry.list(runId) lists the models collection and filters in code
# (src/adapters/model-registry/document-model-registry.ts); every other read is a get or a listing.

# ---------------------------------------------------------------- Functions
# Source: the repository staged by scripts/stage-function-source.ts (package.json gets a `main`
# that loads every functions/*/index.js; the gcp-build script compiles TypeScript in Cloud Build).
data "archive_file" "function_source" {
  type        = "zip"
  source_dir  = "${path.module}/${var.function_source_dir}"
  output_path = "${path.module}/.terraform/function-source.zip"
}

resource "google_storage_bucket_object" "function_source" {
  name   = "function-source-${data.archive_file.function_source.output_md5}.zip"
  bucket = google_storage_bucket.function_source.name
  source = data.archive_file.function_source.output_path
}

resource "google_cloudfunctions2_function" "functions" {
  for_each    = local.functions
  project     = var.project_id
  name        = each.key
  location    = var.region
  description = "HIMAS ${each.value.entry_point} (${each.value.source_dir})"

  build_config {
    runtime         = "nodejs22"
    entry_point     = each.value.entry_point
    service_account = google_service_account.components["function-build"].id
    source {
      storage_source {
        bucket = google_storage_bucket.function_source.name
        object = google_storage_bucket_object.function_source.name
      }
    }
  }

  service_config {
    available_memory                 = local.function_settings[each.key].memory
    available_cpu                    = local.function_settings[each.key].cpu
    timeout_seconds                  = local.function_settings[each.key].timeout_seconds
    min_instance_count               = local.function_settings[each.key].min_instances
    max_instance_count               = local.function_settings[each.key].max_instances
    max_instance_request_concurrency = 1
    service_account_email            = google_service_account.components[local.function_settings[each.key].service_account].email
    environment_variables            = merge(local.stack_env, local.cloud_service_env)
    all_traffic_on_latest_revision   = true

    # The Gemini API key, only in the functions whose identity may read it, only when Gemini is
    # configured, at the version you added (a secret with no version fails the deployment).
    dynamic "secret_environment_variables" {
      for_each = contains(local.gemini_functions, each.key) ? [var.gemini_api_key_secret] : []
      content {
        key        = "GEMINI_API_KEY"
        project_id = var.project_id
        secret     = secret_environment_variables.value
        version    = var.gemini_api_key_version
      }
    }
    # Invocation needs IAM (no public invoker binding anywhere); ingress stays reachable for Workflows.
    # OIDC calls and Pub/Sub push.
    ingress_settings = "ALLOW_ALL"
  }

  depends_on = [
    time_sleep.function_build_iam,
    google_secret_manager_secret_iam_member.gemini_readers,
    google_firestore_database.default,
  ]
}

# A gen2 function is a Cloud Run service of the same name; run.invoker on it allows invocation.
resource "google_cloud_run_v2_service_iam_member" "aggregate_invoker" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.functions["himas-aggregate"].name
  role     = "roles/run.invoker"
  member   = google_service_account.components["pubsub-push"].member
}

resource "google_cloud_run_v2_service_iam_member" "coordinator_invoker" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.functions["himas-coordinator"].name
  role     = "roles/run.invoker"
  member   = google_service_account.components["workflow"].member
}

resource "google_cloud_run_v2_service_iam_member" "agent_invoker" {
  for_each = local.agent_subscriptions
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.functions[each.value.function].name
  role     = "roles/run.invoker"
  member   = google_service_account.components["pubsub-push"].member
}

# Who may call POST /predict on the clinical decision-support function (nobody by default).
resource "google_cloud_run_v2_service_iam_member" "clinical_support_invokers" {
  for_each = toset(var.clinical_support_invokers)
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.functions["himas-clinical-decision-support"].name
  role     = "roles/run.invoker"
  member   = each.value
}

# Gemini: the secret exists (you add the key as its version, then set gemini_model and
# gemini_api_key_version); the agents that write prose read it.
# Always created (a secret without a version costs nothing), so that its first version can be added
# before any function refers to it: apply, `gcloud secrets versions add`, then set gemini_model and
# gemini_api_key_version and apply again (docs/operations.md, "Optional: Gemini").
resource "google_secret_manager_secret" "gemini_api_key" {
  project   = var.project_id
  secret_id = var.gemini_api_key_secret
  replication {
    auto {}
  }

  lifecycle {
    precondition {
      condition     = var.gemini_model == "" || can(regex("^[1-9][0-9]*$", var.gemini_api_key_version))
      error_message = "gemini_model is set but gemini_api_key_version is not a version number: add the key with `gcloud secrets versions add ${var.gemini_api_key_secret} --data-file=-` and set gemini_api_key_version to the number it prints."
    }
  }
}

resource "google_secret_manager_secret_iam_member" "gemini_readers" {
  for_each  = local.gemini_readers
  project   = var.project_id
  secret_id = google_secret_manager_secret.gemini_api_key.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.components[each.value].member
}

# Vertex AI Model Registry mirror: the aggregator uploads each version it publishes.
resource "google_project_iam_member" "aggregator_vertex" {
  count   = var.vertex_model_id == "" ? 0 : 1
  project = var.project_id
  role    = "roles/aiplatform.user"
  member  = google_service_account.components["aggregator"].member
}

# ---------------------------------------------------------------- Hospitals
module "hospital" {
  source   = "./modules/hospital"
  for_each = var.hospitals

  project_id                      = var.project_id
  region                          = var.region
  data_location                   = var.data_location
  hospital_id                     = each.key
  display_name                    = each.value.display_name
  job_name                        = "${local.job_prefix}${each.key}"
  dataset_id                      = "${local.cohort_dataset_prefix}${replace(each.key, "-", "_")}"
  image                           = var.train_image
  bucket                          = google_storage_bucket.artifacts.name
  updates_topic                   = google_pubsub_topic.topics["updates"].name
  stack_env                       = local.stack_env
  workflow_service_account_member = google_service_account.components["workflow"].member
  task_timeout_seconds            = var.job_task_timeout_seconds
  max_retries                     = var.job_max_retries
  deletion_protection             = var.deletion_protection
  signing_key_version             = each.value.signing_key_version
  gpu                             = var.train_variant == "gpu"

  depends_on = [google_project_service.apis, google_firestore_database.default]
}

# ---------------------------------------------------------------- Workflow
resource "google_workflows_workflow" "training" {
  project             = var.project_id
  name                = "himas-training"
  region              = var.region
  description         = "HIMAS federated training: gcloud workflows run himas-training --data='{\"rounds\":10}'"
  service_account     = google_service_account.components["workflow"].id
  source_contents     = file("${path.module}/../workflows/federated-training.yaml")
  user_env_vars       = local.workflow_env
  call_log_level      = "LOG_ERRORS_ONLY"
  deletion_protection = var.deletion_protection
  depends_on          = [google_project_iam_member.components]

  lifecycle {
    # The jobs.run connector stops waiting after its timeout and fails the step while the job may
    # still be retrying: it must outlast every attempt of a job timing out.
    precondition {
      condition     = local.workflow_job_wait_seconds >= var.job_task_timeout_seconds * (var.job_max_retries + 1)
      error_message = "workflows/federated-training.yaml waits ${local.workflow_job_wait_seconds} s for a job (runHospitalJob connector_params.timeout), less than job_task_timeout_seconds × (job_max_retries + 1) = ${var.job_task_timeout_seconds * (var.job_max_retries + 1)} s: raise the timeout in the workflow or lower the job's."
    }
  }
}

locals {
  workflow_job_wait_seconds = yamldecode(file("${path.module}/../workflows/federated-training.yaml")).runHospitalJob.steps[0].run.try.args.connector_params.timeout
}

# ---------------------------------------------------------------- BigQuery: metrics and audit
# Both are fed by log sinks from the structured logs (src/logs.ts), so they fill without code.
resource "google_bigquery_dataset" "metrics" {
  project     = var.project_id
  dataset_id  = "himas_metrics"
  location    = var.data_location
  description = "Round, training and evaluation log events of HIMAS runs (log sink himas-metrics)."
  depends_on  = [google_project_service.apis]
}

resource "google_bigquery_dataset" "audit" {
  project     = var.project_id
  dataset_id  = "himas_audit"
  location    = var.data_location
  description = "Rejected updates, poison messages and halted runs (log sink himas-audit)."
  depends_on  = [google_project_service.apis]
}

# ---------------------------------------------------------------- BigQuery: the agents' warehouse
# Tables generated from schemas/warehouse.ts (scripts/warehouse-schema.ts; test/infra checks the
# committed files are current). Each agent may write only its own table (the BigQuery Warehouse
# adapter, src/adapters/gcp/bigquery-warehouse.ts, inserts with a MERGE job).
resource "google_bigquery_dataset" "agents" {
  project     = var.project_id
  dataset_id  = local.warehouse_dataset
  location    = var.data_location
  description = "What the HIMAS agents write for analysts: privacy audits and run progress (schemas/warehouse.ts)."
  depends_on  = [google_project_service.apis]
}

resource "google_bigquery_table" "warehouse" {
  for_each            = local.warehouse_tables
  project             = var.project_id
  dataset_id          = google_bigquery_dataset.agents.dataset_id
  table_id            = each.key
  schema              = file("${path.module}/warehouse/${each.key}.json")
  clustering          = ["runId"]
  deletion_protection = var.deletion_protection

  time_partitioning {
    type  = "DAY"
    field = "time"
  }
}

resource "google_bigquery_table_iam_member" "warehouse_writers" {
  for_each   = local.warehouse_tables
  project    = var.project_id
  dataset_id = google_bigquery_dataset.agents.dataset_id
  table_id   = google_bigquery_table.warehouse[each.key].table_id
  role       = "roles/bigquery.dataEditor"
  member     = google_service_account.components[each.value].member
}

locals {
  sinks = {
    "himas-metrics" = {
      dataset = google_bigquery_dataset.metrics.dataset_id
      events  = [local.log_events.round_closed, local.log_events.round_failed, local.log_events.update_accepted, local.log_events.job_trained, local.log_events.job_finished]
    }
    "himas-audit" = {
      dataset = google_bigquery_dataset.audit.dataset_id
      events  = [local.log_events.update_rejected, local.log_events.message_rejected, local.log_events.run_halted, local.log_events.run_created, local.log_events.job_failed]
    }
  }
}

resource "google_logging_project_sink" "sinks" {
  for_each               = local.sinks
  project                = var.project_id
  name                   = each.key
  destination            = "bigquery.googleapis.com/projects/${var.project_id}/datasets/${each.value.dataset}"
  filter                 = join(" OR ", [for e in each.value.events : "jsonPayload.event=\"${e}\""])
  unique_writer_identity = true

  bigquery_options {
    use_partitioned_tables = true
  }
}

resource "google_bigquery_dataset_iam_member" "sink_writers" {
  for_each   = local.sinks
  project    = var.project_id
  dataset_id = each.value.dataset
  role       = "roles/bigquery.dataEditor"
  member     = google_logging_project_sink.sinks[each.key].writer_identity
}
