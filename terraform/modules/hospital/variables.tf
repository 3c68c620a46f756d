variable "project_id" {
  type = string
}

variable "region" {
  type = string
}

variable "data_location" {
  description = "BigQuery location of the hospital's cohort dataset."
  type        = string
}

variable "hospital_id" {
  description = "The hospital id the code uses (HIMAS_HOSPITAL_ID, blob and document paths)."
  type        = string
}

variable "display_name" {
  type = string
}

variable "job_name" {
  description = "Cloud Run job name, himas-train-<hospital id>."
  type        = string
}

variable "dataset_id" {
  description = "BigQuery dataset holding this hospital's cohort table."
  type        = string
}

variable "image" {
  description = "Training job image."
  type        = string
}

variable "bucket" {
  description = "The HIMAS artifacts bucket (HIMAS_BUCKET)."
  type        = string
}

variable "updates_topic" {
  description = "Name of the himas-updates topic the job publishes update.submitted to."
  type        = string
}

variable "stack_env" {
  description = "Environment shared by every job and function (HIMAS_STACK, HIMAS_PROJECT, ...)."
  type        = map(string)
}

variable "workflow_service_account_member" {
  description = "The workflow's identity, allowed to run this job with per-execution env overrides."
  type        = string
}

variable "task_timeout_seconds" {
  type = number
}

variable "max_retries" {
  type = number
}

variable "deletion_protection" {
  type = bool
}

variable "signing_key_version" {
  description = "Version of the hospital's signing-key secret to mount (what `gcloud secrets versions add` printed); null until the hospital has enrolled its key, and the job is created only then."
  type        = string
  default     = null
}

variable "gpu" {
  description = "Run the job on an NVIDIA L4 with the GPU image (true) or on CPU with the CPU image (false)."
  type        = bool
  default     = false
}
