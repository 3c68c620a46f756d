# One hospital, isolated as its own institution would be: its own identity, its own BigQuery
# dataset (nobody else reads it), its own training job, and write access to its own update objects only.

locals {
  cohort_table = "${var.project_id}.${google_bigquery_dataset.cohort.dataset_id}.${google_bigquery_table.cohort.table_id}"
  # Where the job finds its cohort CSVs and its signing key: volumes of the job (below).
  cohort_mount = "/mnt/cohort"
  keys_mount   = "/mnt/keys"
  # What this hospital's job gets besides the shared stack_env; the workflow adds the per-execution
  # HIMAS_JOB_MODE, HIMAS_RUN_ID, HIMAS_ROUND, HIMAS_MODEL_VERSION as overrides. HIMAS_DATA_DIR is
  # required on gcp until the BigQuery cohort source exists (jobs/train/index.ts).
  job_env = {
    HIMAS_HOSPITAL_ID = var.hospital_id
    HIMAS_DATA_DIR    = local.cohort_mount
    HIMAS_KEYS_DIR    = local.keys_mount
    # The hospital's privacy ledger (src/adapters/ledger/blob-hospital-ledger-store.ts) and its site
    # state (src/adapters/site): objects under ledgers/<hospital>/ and site/<hospital>/ in its own
    # cohort bucket, which the job may create but never overwrite or delete.
    HIMAS_LEDGER_BUCKET = google_storage_bucket.cohort_files.name
  }
  # The GPU variant keeps the CUDA compute cache on a volume (below; the GPU image sets
  # CUDA_CACHE_PATH to this path), so the PTX that libtensorflow 2.9 ships for compute_80 is
  # JIT-compiled for the L4 (sm_89) once, not at every cold start.
  cuda_cache_mount = "/mnt/cuda-cache"
  # The job exists once the hospital's signing key is enrolled: Cloud Run refuses to create a job
  # whose secret volume names a version that does not exist (provider issue #15088).
  enrolled = var.signing_key_version != null
  objects = "projects/_/buckets/${var.bucket}/objects/"
}

resource "google_service_account" "job" {
  project      = var.project_id
  account_id   = "himas-train-${var.hospital_id}"
  display_name = "HIMAS training job of ${var.display_name}"
}

# ---------------------------------------------------------------- cohort
resource "google_bigquery_dataset" "cohort" {
  project                    = var.project_id
  dataset_id                 = var.dataset_id
  location                   = var.data_location
  friendly_name              = "HIMAS cohort of ${var.display_name}"
  description                = "First-24 h ICU stays of ${var.hospital_id} (schemas/cohort-mimic-iv.sql). Read only by ${google_service_account.job.email}."
  delete_contents_on_destroy = false
  labels = {
    himas_hospital = var.hospital_id
  }
}

# Schema generated from src/core/data (scripts/cohort-schema.ts; test/infra checks it is current).
resource "google_bigquery_table" "cohort" {
  project             = var.project_id
  dataset_id          = google_bigquery_dataset.cohort.dataset_id
  table_id            = "cohort"
  schema              = file("${path.module}/cohort-schema.json")
  deletion_protection = var.deletion_protection
}

# The deployed cohort path: the job reads <hospital>.train.csv and <hospital>.test.csv
# (src/adapters/cohort/csv-cohort-source.ts) at the root of this bucket, mounted read-only with Cloud
# Storage FUSE at HIMAS_DATA_DIR. Its own bucket, so that only this job reads it. (The BigQuery table
# above is the optional path: the job reads it only when HIMAS_DATA_DIR is unset.)
resource "google_storage_bucket" "cohort_files" {
  project                     = var.project_id
  name                        = "${var.project_id}-himas-cohort-${var.hospital_id}"
  location                    = var.data_location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels = {
    himas_hospital = var.hospital_id
  }
}

resource "google_storage_bucket_iam_member" "job_reads_cohort_files" {
  bucket = google_storage_bucket.cohort_files.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.job.member
}

# The hospital's own privacy ledger (one per hospital, across runs), append-only: objectCreator
# cannot overwrite or delete, and only under ledgers/<hospital>/ (src/adapters/ledger).
resource "google_storage_bucket_iam_member" "job_appends_ledger" {
  bucket = google_storage_bucket.cohort_files.name
  role   = "roles/storage.objectCreator"
  member = google_service_account.job.member

  condition {
    title       = "ledger-${var.hospital_id}"
    description = "Only new objects under ledgers/${var.hospital_id}/"
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.cohort_files.name}/objects/ledgers/${var.hospital_id}/\")"
  }
}

# The hospital's own site state (src/adapters/site): with --site-intercept, the intercept it
# trained with each update it sent, one object per update under site/<hospital>/, create-only like
# the ledger, in its own bucket: no other identity reads it.
resource "google_storage_bucket_iam_member" "job_keeps_site_state" {
  bucket = google_storage_bucket.cohort_files.name
  role   = "roles/storage.objectCreator"
  member = google_service_account.job.member

  condition {
    title       = "site-${var.hospital_id}"
    description = "Only new objects under site/${var.hospital_id}/"
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.cohort_files.name}/objects/site/${var.hospital_id}/\")"
  }
}

resource "google_bigquery_dataset_iam_member" "job_reads_cohort" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.cohort.dataset_id
  role       = "roles/bigquery.dataViewer"
  member     = google_service_account.job.member
}

# Running a query is a project-level permission; what the query can read is still only the datasets
# the job can view, i.e. its own.
resource "google_project_iam_member" "job_runs_queries" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = google_service_account.job.member
}

# Least privilege: the job only reads shared state (its run and round, its peers' enrolled public
# keys, model versions). It writes none — no receipt, no enrolment, no seed: what a hospital says
# travels as a signed event on himas-updates, which the aggregator verifies before recording
# (src/services/aggregation/). test/infra checks that no hospital identity holds a Firestore write role.
resource "google_project_iam_member" "job_reads_firestore" {
  project = var.project_id
  role    = "roles/datastore.viewer"
  member  = google_service_account.job.member
}

# ---------------------------------------------------------------- signing key
# The hospital's Ed25519 signing key (src/adapters/keys/file-hospital-key-store.ts reads
# <HIMAS_KEYS_DIR>/<hospital>.signing.json). Terraform creates the secret, never its value: the
# hospital adds a version itself (docs/operations.md, "Enrol a hospital's signing key"), so the
# private key is in no Terraform state. Mounted as a file at HIMAS_KEYS_DIR.
resource "google_secret_manager_secret" "signing_key" {
  project   = var.project_id
  secret_id = "himas-signing-key-${var.hospital_id}"
  labels = {
    himas_hospital = var.hospital_id
  }

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_iam_member" "job_reads_signing_key" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.signing_key.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.job.member
}

# ---------------------------------------------------------------- CUDA compute cache (GPU variant)
# Compiled kernels only (no patient data), in the hospital's own bucket, written only by its job.
resource "google_storage_bucket" "cuda_cache" {
  count                       = var.gpu ? 1 : 0
  project                     = var.project_id
  name                        = "${var.project_id}-himas-cuda-${var.hospital_id}"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true # a cache: nothing in it is worth keeping
  labels = {
    himas_hospital = var.hospital_id
  }
}

resource "google_storage_bucket_iam_member" "job_uses_cuda_cache" {
  count  = var.gpu ? 1 : 0
  bucket = google_storage_bucket.cuda_cache[0].name
  role   = "roles/storage.objectUser"
  member = google_service_account.job.member
}

# ---------------------------------------------------------------- blobs
# IAM Conditions on the object name (https://cloud.google.com/iam/docs/conditions-resource-attributes
# and https://cloud.google.com/storage/docs/access-control/iam#conditions): the job may create, read
# and overwrite only its own objects (schemas/documents.ts blobPaths)
#   runs/<run>/rounds/<round>/updates/<hospital>.bin, runs/<run>/releases/<hospital>/...
# with secure aggregation (schemas/secure-aggregation.ts) its signed masking documents
#   runs/<run>/masking/<hospital>.round-keys.json, runs/<run>/rounds/<round>/masking/<hospital>/<sha256>.json,
#   runs/<run>/rounds/<round>/masking/<hospital>.reveal.json
# and the published copy of its privacy ledger ledgers/<hospital>/<sequence>.json (read by name,
# never listed), and read the published models and its peers' masking documents (signed by each
# peer and verified before use, so reading is all it needs).
resource "google_storage_bucket_iam_member" "own_updates" {
  bucket = var.bucket
  role   = "roles/storage.objectUser"
  member = google_service_account.job.member

  condition {
    title       = "own-updates-${var.hospital_id}"
    description = "Only ${var.hospital_id}'s update, release, masking and published-ledger objects"
    expression  = "(resource.name.startsWith(\"${local.objects}runs/\") && (resource.name.endsWith(\"/updates/${var.hospital_id}.bin\") || resource.name.extract(\"/releases/{hospital}/\") == \"${var.hospital_id}\" || resource.name.endsWith(\"/masking/${var.hospital_id}.round-keys.json\") || resource.name.extract(\"/masking/{hospital}/\") == \"${var.hospital_id}\" || resource.name.endsWith(\"/masking/${var.hospital_id}.reveal.json\"))) || resource.name.startsWith(\"${local.objects}ledgers/${var.hospital_id}/\")"
  }
}

resource "google_storage_bucket_iam_member" "read_peer_masking" {
  bucket = var.bucket
  role   = "roles/storage.objectViewer"
  member = google_service_account.job.member

  condition {
    title       = "read-masking-${var.hospital_id}"
    description = "Peers' signed masking documents (round keys, shares) of secure aggregation"
    expression  = "resource.name.startsWith(\"${local.objects}runs/\") && resource.name.extract(\"/masking/{document}\") != \"\""
  }
}

resource "google_storage_bucket_iam_member" "read_models" {
  bucket = var.bucket
  role   = "roles/storage.objectViewer"
  member = google_service_account.job.member

  condition {
    title       = "read-models-${var.hospital_id}"
    description = "Published model versions only"
    expression  = "resource.name.startsWith(\"${local.objects}models/\")"
  }
}

resource "google_pubsub_topic_iam_member" "publish_updates" {
  project = var.project_id
  topic   = var.updates_topic
  role    = "roles/pubsub.publisher"
  member  = google_service_account.job.member
}

# ---------------------------------------------------------------- training job
# CPU by default (tfjs-node: the logistic model trains in seconds on 4 vCPU); with var.gpu an NVIDIA
# L4, with the GPU job arguments of the provider's example cloudrunv2_job_gpu
# (https://registry.terraform.io/providers/hashicorp/google/latest/docs/resources/cloud_run_v2_job):
# node_selector.accelerator and gpu_zonal_redundancy_disabled; an L4 needs at least 4 CPU and 16 GiB
# (https://cloud.google.com/run/docs/configuring/jobs/gpu). docs/operations.md, "CPU or GPU".
resource "google_cloud_run_v2_job" "train" {
  count               = local.enrolled ? 1 : 0
  project             = var.project_id
  name                = var.job_name
  location            = var.region
  deletion_protection = false

  template {
    task_count  = 1
    parallelism = 1

    template {
      service_account               = google_service_account.job.email
      timeout                       = "${var.task_timeout_seconds}s"
      max_retries                   = var.max_retries
      gpu_zonal_redundancy_disabled = var.gpu ? true : null

      dynamic "node_selector" {
        for_each = var.gpu ? ["nvidia-l4"] : []
        content {
          accelerator = node_selector.value
        }
      }

      # Cloud Storage FUSE volume (https://cloud.google.com/run/docs/configuring/jobs/cloud-storage-volume-mounts).
      volumes {
        name = "cohort"
        gcs {
          bucket        = google_storage_bucket.cohort_files.name
          read_only     = true
          mount_options = ["implicit-dirs"]
        }
      }

      # Secret Manager volume: the enrolled version (pinned, so a new key is a new job revision) as
      # <hospital>.signing.json. Files are owned by root: 0444 lets the image's USER 10001 read it.
      volumes {
        name = "keys"
        secret {
          secret       = google_secret_manager_secret.signing_key.secret_id
          default_mode = 292 # 0444
          items {
            path    = "${var.hospital_id}.signing.json"
            version = var.signing_key_version
            mode    = 292
          }
        }
      }

      dynamic "volumes" {
        for_each = var.gpu ? [google_storage_bucket.cuda_cache[0].name] : []
        content {
          name = "cuda-cache"
          gcs {
            bucket    = volumes.value
            read_only = false
          }
        }
      }

      containers {
        image = var.image

        resources {
          limits = merge(
            { cpu = "4", memory = "16Gi" },
            var.gpu ? { "nvidia.com/gpu" = "1" } : {},
          )
        }

        volume_mounts {
          name       = "cohort"
          mount_path = local.cohort_mount
        }

        volume_mounts {
          name       = "keys"
          mount_path = local.keys_mount
        }

        dynamic "volume_mounts" {
          for_each = var.gpu ? ["cuda-cache"] : []
          content {
            name       = volume_mounts.value
            mount_path = local.cuda_cache_mount
          }
        }

        dynamic "env" {
          for_each = var.stack_env
          content {
            name  = env.key
            value = env.value
          }
        }

        dynamic "env" {
          for_each = local.job_env
          content {
            name  = env.key
            value = env.value
          }
        }
      }
    }
  }

  # The secret must be readable by the job's identity before the job is created (provider issue #13786).
  depends_on = [
    google_secret_manager_secret_iam_member.job_reads_signing_key,
    google_storage_bucket_iam_member.job_reads_cohort_files,
    google_storage_bucket_iam_member.job_uses_cuda_cache,
  ]
}

# The workflow starts executions with per-execution env (HIMAS_JOB_MODE, HIMAS_RUN_ID, ...), which
# needs run.jobs.runWithOverrides: roles/run.jobsExecutorWithOverrides on this job only, the
# narrowest role that holds it (https://cloud.google.com/run/docs/execute/jobs#override-job-configuration).
resource "google_cloud_run_v2_job_iam_member" "workflow_runs_job" {
  count    = local.enrolled ? 1 : 0
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_job.train[0].name
  role     = "roles/run.jobsExecutorWithOverrides"
  member   = var.workflow_service_account_member
}
