output "job_name" {
  value = google_cloud_run_v2_job.train.name
}

output "service_account_email" {
  value = google_service_account.job.email
}

output "cohort_table" {
  description = "project.dataset.table of the hospital's cohort (HIMAS_COHORT_TABLE)."
  value       = local.cohort_table
}

output "job_env" {
  description = "The job's static environment (the workflow adds HIMAS_JOB_MODE, HIMAS_RUN_ID, ...)."
  value       = merge(var.stack_env, local.job_env)
}
