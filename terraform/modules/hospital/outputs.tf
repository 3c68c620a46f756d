output "job_name" {
  description = "The job's name, or null while the hospital's signing key is not enrolled (no job yet)."
  value       = local.enrolled ? google_cloud_run_v2_job.train[0].name : null
}

output "service_account_email" {
  value = google_service_account.job.email
}

output "cohort_table" {
  description = "project.dataset.table of the optional BigQuery cohort (read only when HIMAS_DATA_DIR is unset, which this deployment never does)."
  value       = local.cohort_table
}

output "job_env" {
  description = "The job's static environment (the workflow adds HIMAS_JOB_MODE, HIMAS_RUN_ID, ...)."
  value       = merge(var.stack_env, local.job_env)
}

output "cohort_bucket" {
  description = "Upload <hospital>.train.csv and <hospital>.test.csv here (mounted at HIMAS_DATA_DIR)."
  value       = google_storage_bucket.cohort_files.name
}

output "signing_key_secret" {
  description = "Secret Manager secret the hospital adds its <hospital>.signing.json to (mounted at HIMAS_KEYS_DIR)."
  value       = google_secret_manager_secret.signing_key.secret_id
}
