variable "project_id" {
  description = "The Google Cloud project HIMAS is deployed into (never hard-coded in this configuration)."
  type        = string
}

variable "region" {
  description = "Region of the Cloud Run jobs, functions, workflow, bucket and image repository. With train_variant = gpu it must be a region where Cloud Run jobs offer NVIDIA L4 GPUs (https://cloud.google.com/run/docs/configuring/jobs/gpu)."
  type        = string
  default     = "europe-west4"

  validation {
    condition     = contains(["us-central1", "us-east4", "europe-west1", "europe-west4", "asia-southeast1", "asia-south1"], var.region)
    error_message = "Cloud Run jobs with L4 GPUs run in us-central1, us-east4, europe-west1, europe-west4, asia-southeast1 (asia-south1 by invitation); see docs/operations.md."
  }
}

variable "data_location" {
  description = "BigQuery location of the hospitals' cohort datasets and the metrics/audit datasets (patient data stays here)."
  type        = string
  default     = "EU"
}

variable "firestore_location" {
  description = "Firestore location: a multi-region (nam5, eur3) or the region itself."
  type        = string
  default     = "eur3"
}

variable "hospitals" {
  description = "The enrolled hospitals, keyed by hospital id (the id the code uses: lower-case letters, digits and '-', at most 18 characters so that the service account id himas-train-<id> fits in 30). declared_train_stays is the hospital's public, approximate number of training stays (e.g. 1500): DP-SGD plans its sampling rate from it and updates are weighted by it, so the exact cohort size never leaves the hospital. signing_key_version is the version of its signing-key secret (what `gcloud secrets versions add` printed): until it is set the hospital has no job and takes part in no run."
  type = map(object({
    display_name         = string
    declared_train_stays = number
    signing_key_version  = optional(string)
  }))
  default = {
    "h1-academic"  = { display_name = "Academic medical centre", declared_train_stays = 1500 }
    "h2-cardiac"   = { display_name = "Cardiac surgery centre", declared_train_stays = 1200 }
    "h3-community" = { display_name = "Community hospital", declared_train_stays = 680 }
  }

  validation {
    condition     = alltrue([for id in keys(var.hospitals) : can(regex("^[a-z][a-z0-9-]{0,16}[a-z0-9]$", id))])
    error_message = "Hospital ids must match ^[a-z][a-z0-9-]{0,16}[a-z0-9]$."
  }

  validation {
    condition     = alltrue([for h in values(var.hospitals) : h.signing_key_version == null || can(regex("^[1-9][0-9]*$", h.signing_key_version))])
    error_message = "signing_key_version must be a secret version number such as \"1\" (pinned, never \"latest\"), or left out until the hospital has added its key."
  }

  validation {
    condition     = alltrue([for h in values(var.hospitals) : h.declared_train_stays >= 1 && floor(h.declared_train_stays) == h.declared_train_stays])
    error_message = "declared_train_stays must be a whole number of stays, at least 1 (the hospital's public, approximate training-split size)."
  }
}

variable "train_image" {
  description = "Container image of the hospital training job (jobs/train/Dockerfile, target train_variant), e.g. <region>-docker.pkg.dev/<project>/himas/himas-train-cpu:<tag>."
  type        = string
}

variable "train_variant" {
  description = "cpu (default: tfjs-node on 4 vCPU, enough for the logistic model) or gpu (an NVIDIA L4 with the CUDA image, for the MLP; needs L4 quota). Must match the image's target (cloudbuild.yaml _TRAIN_VARIANT)."
  type        = string
  default     = "cpu"
  validation {
    condition     = contains(["cpu", "gpu"], var.train_variant)
    error_message = "train_variant must be cpu or gpu."
  }
}

variable "job_task_timeout_seconds" {
  description = "Timeout of one hospital job task (one stats, train or evaluate step)."
  type        = number
  default     = 1800
}

variable "job_max_retries" {
  description = "Retries of a failed hospital job task (the job skips work it already did, so a retry is safe)."
  type        = number
  default     = 2
}

variable "aggregator_max_instances" {
  description = "Upper bound on aggregation function instances (rounds are serialised by the round lease anyway)."
  type        = number
  default     = 5
}

variable "update_retention_days" {
  description = "Days after which update and release blobs (runs/...) are deleted; models and published ledgers are kept."
  type        = number
  default     = 30
}

variable "max_delivery_attempts" {
  description = "Deliveries of a Pub/Sub message before it is moved to the dead-letter topic (5 to 100); the code's subscriptions use 10 (src/local/embedded-platform.ts)."
  type        = number
  default     = 10
}

variable "epsilon_alert_threshold" {
  description = "Alert when a closed round reports a hospital-level epsilon above this value (set it to ~80% of the runs' epsilon budget)."
  type        = number
  default     = 8
}

variable "notification_channels" {
  description = "Cloud Monitoring notification channel ids for the alert policies (empty: alerts show in Console only)."
  type        = list(string)
  default     = []
}

variable "deletion_protection" {
  description = "Protect the cohort tables, the Firestore database and the workflow from terraform destroy."
  type        = bool
  default     = true
}

variable "function_source_dir" {
  description = "Folder zipped as the Cloud Functions source (written by `node bin/run-ts.js scripts/stage-function-source.ts`)."
  type        = string
  default     = "../dist/function-source"
}

variable "vertex_model_id" {
  description = "Vertex AI Model Registry parent model id mirroring every model version (src/adapters/gcp/vertex-model-registry.ts); empty = no mirror."
  type        = string
  default     = ""
  validation {
    condition     = var.vertex_model_id == "" || can(regex("^[a-z_][a-z0-9_-]{0,62}$", var.vertex_model_id))
    error_message = "vertex_model_id must be empty or a Vertex AI model id: up to 63 of a-z, 0-9, _ and -, starting with a letter or _."
  }
}

variable "vertex_serving_image" {
  description = "Serving container image registered with each Vertex AI model version (no prebuilt image serves TF.js layers models); required when vertex_model_id is set."
  type        = string
  default     = ""
}

variable "gemini_model" {
  description = "Gemini model for the agents' prose (run summaries, clinical narratives); empty = deterministic template writers."
  type        = string
  default     = ""
}

variable "gemini_api_key_secret" {
  description = "Secret Manager secret id holding the Gemini API key (you add its version); used only when gemini_model is set."
  type        = string
  default     = "himas-gemini-api-key"
}

variable "gemini_api_key_version" {
  description = "Version number of the Gemini API key in its secret (what `gcloud secrets versions add` printed); required when gemini_model is set. Pinned, not latest, so that a new key redeploys the functions."
  type        = string
  default     = ""
}

variable "clinical_llm_record_values" {
  description = "Let the clinical decision-support agent send a stay's values (never identifiers) to Gemini. Off by default."
  type        = bool
  default     = false
}

variable "clinical_support_invokers" {
  description = "IAM members allowed to call the clinical decision-support HTTP function, e.g. [\"serviceAccount:ehr-bridge@p.iam.gserviceaccount.com\"]."
  type        = list(string)
  default     = []
}

variable "operator_members" {
  description = "IAM members who replay dead letters (`himas deadletter list|replay --stack gcp`), e.g. [\"group:himas-oncall@example.org\"]: each may pull and acknowledge on every <topic>-dead-letter-hold subscription and publish to the HIMAS topics replays go back to, nothing else."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for m in var.operator_members : !can(regex("^all(Authenticated)?Users$", m))])
    error_message = "operator_members must name people, groups or service accounts: dead letters are never public."
  }
}
