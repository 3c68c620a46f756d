output "workflow" {
  description = "Start a run: gcloud workflows run <this> --location=<region> --data='{\"rounds\":10}'"
  value       = google_workflows_workflow.training.name
}

output "bucket" {
  value = google_storage_bucket.artifacts.name
}

output "coordinator_url" {
  value = google_cloudfunctions2_function.functions["himas-coordinator"].service_config[0].uri
}

output "image_repository" {
  value = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}

output "hospital_jobs" {
  value = { for id, h in module.hospital : id => h.job_name }
}

output "cohort_tables" {
  description = "Optional BigQuery cohort tables, unused by the deployed path (docs/operations.md, step 8)."
  value       = { for id, h in module.hospital : id => h.cohort_table }
}

output "cohort_buckets" {
  description = "The deployed cohort path: upload each hospital's <id>.train.csv and <id>.test.csv here (docs/operations.md, step 8)."
  value       = { for id, h in module.hospital : id => h.cohort_bucket }
}

output "signing_key_secrets" {
  description = "Each hospital adds its signing key file as a version, then sets hospitals.<id>.signing_key_version (docs/operations.md, steps 9 and 10)."
  value       = { for id, h in module.hospital : id => h.signing_key_secret }
}

output "warehouse_dataset" {
  value = google_bigquery_dataset.agents.dataset_id
}

output "dashboard" {
  value = "https://console.cloud.google.com/monitoring/dashboards/builder/${element(split("/", google_monitoring_dashboard.himas.id), 3)}?project=${var.project_id}"
}
