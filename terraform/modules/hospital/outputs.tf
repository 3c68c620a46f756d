output "job_name" {
  value = google_cloud_run_v2_job.train.name
}

output "service_account_email" {
  value = google_service_account.job.email
}

output "cohort_table" {
  description = "project.dataset.table of the hospital's cohort (for the BigQuery cohort source, not yet read by the job)."
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
