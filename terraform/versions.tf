# HIMAS on Google Cloud. Provider arguments follow the google provider 6.x documentation
# (https://registry.terraform.io/providers/hashicorp/google/latest/docs); where an argument is not
# obvious, the resource cites its page.
terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.40, < 8.0"
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
