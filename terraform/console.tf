# The web console (`himas ui --stack gcp`, src/ui/): one Cloud Run service with its own read-only
# identity. It reads runs, rounds, model versions and audit records (Firestore), the agents'
# warehouse (BigQuery himas_agents), the model files it scores with (models/) and the hospitals'
# published privacy ledgers (ledgers/) — nothing else in the bucket, and it writes nothing. Nobody
# may call it until named in console_invokers (or put behind IAP); it is never public.

variable "console_image" {
  description = "Container image of the console (src/ui/Dockerfile, built by cloudbuild.yaml). Empty: the console is not deployed."
  type        = string
  default     = ""
}

variable "console_invokers" {
  description = "IAM members allowed to open the console, e.g. [\"group:icu-ml@example.org\", \"user:privacy-officer@example.org\"]. Empty: nobody (no public access)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.console_invokers : !can(regex("^all(Authenticated)?Users$", m))])
    error_message = "console_invokers must name people, groups or service accounts: the console is never public."
  }
}

resource "google_service_account" "console" {
  project      = var.project_id
  account_id   = "himas-console"
  display_name = "HIMAS web console (read-only)"
  depends_on   = [google_project_service.apis]
}

# Firestore IAM cannot be scoped to collections: the viewer role reads every document, writes none.
resource "google_project_iam_member" "console_reads_firestore" {
  project = var.project_id
  role    = "roles/datastore.viewer"
  member  = google_service_account.console.member
}

# Reading a warehouse table is a query job; the rows themselves only from the agents' dataset.
resource "google_project_iam_member" "console_runs_queries" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = google_service_account.console.member
}

resource "google_bigquery_dataset_iam_member" "console_reads_warehouse" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.agents.dataset_id
  role       = "roles/bigquery.dataViewer"
  member     = google_service_account.console.member
}

# The calculator loads the versions it serves (models/<version>/model.json, weights.bin).
resource "google_storage_bucket_iam_member" "console_reads_models" {
  bucket = google_storage_bucket.artifacts.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.console.member

  condition {
    title       = "console-read-model-versions"
    description = "Only the model versions under models/"
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.artifacts.name}/objects/models/\")"
  }
}

# The ledger page reads each hospital's published ledger entry by name (never a listing).
resource "google_storage_bucket_iam_member" "console_reads_ledgers" {
  bucket = google_storage_bucket.artifacts.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.console.member

  condition {
    title       = "console-read-privacy-ledgers"
    description = "Only the published privacy ledgers under ledgers/"
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.artifacts.name}/objects/ledgers/\")"
  }
}

resource "google_cloud_run_v2_service" "console" {
  count               = var.console_image == "" ? 0 : 1
  project             = var.project_id
  name                = "himas-console"
  location            = var.region
  deletion_protection = var.deletion_protection
  # Reachable from the internet, but every request needs roles/run.invoker (no public binding).
  ingress = "INGRESS_TRAFFIC_ALL"

  template {
    service_account = google_service_account.console.email
    timeout         = "60s"

    scaling {
      min_instance_count = 0
      max_instance_count = 2
    }

    containers {
      image = var.console_image
      args  = ["ui", "--stack", "gcp", "--host", "0.0.0.0"]

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = "1"
          memory = "1Gi"
        }
      }

      dynamic "env" {
        for_each = merge(local.stack_env, {
          HIMAS_WAREHOUSE_DATASET = local.warehouse_dataset
          HIMAS_BIGQUERY_LOCATION = var.data_location
        })
        content {
          name  = env.key
          value = env.value
        }
      }
    }
  }

  depends_on = [
    google_project_iam_member.console_reads_firestore,
    google_storage_bucket_iam_member.console_reads_models,
  ]
}

resource "google_cloud_run_v2_service_iam_member" "console_invokers" {
  for_each = var.console_image == "" ? toset([]) : toset(var.console_invokers)
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.console[0].name
  role     = "roles/run.invoker"
  member   = each.value
}

output "console_url" {
  description = "The console's URL (callers need roles/run.invoker: console_invokers), or null when console_image is empty."
  value       = var.console_image == "" ? null : google_cloud_run_v2_service.console[0].uri
}
