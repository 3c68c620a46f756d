# HIMAS on Google Cloud. Provider arguments follow the google provider 7.x documentation
# (https://registry.terraform.io/providers/hashicorp/google/latest/docs); where an argument is not
# obvious, the resource cites its page.
terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      # 7.4: gcs volume mount_options (job node_selector came in 6.45, gpu_zonal_redundancy_disabled in 6.47).
      version = ">= 7.4, < 8.0"
    }
    time = {
      source  = "hashicorp/time"
      version = ">= 0.11"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4"
    }
  }

  # State lives in a bucket created once by hand (docs/operations.md, "Bootstrap"):
  #   terraform init -backend-config="bucket=<state bucket>"
  backend "gcs" {
    prefix = "himas"
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}
