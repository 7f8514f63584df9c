#!/usr/bin/env bash
# Create homeval's Secrets in a cluster that has no External Secrets Operator (the dev
# overlay). Values are random, generated here, and never written to disk or to git:
#
#   scripts/create-cluster-secrets.sh | kubectl apply -f -
#
# It prints Secret manifests (kubectl --dry-run=client) for the namespaces homeval,
# kubeflow (the pipeline pods) and airflow, with the keys the manifests reference (see
# manifests/components/external-secrets/README.md). Run it once: applying it again
# rotates every password, which the running PostgreSQL would not follow.
# Environment: HOMEVAL_DB_USER (default homeval), GRAFANA_ADMIN_USER (default admin),
# MLFLOW_WRITER_USER (default pipeline). Needs kubectl, python3 and openssl.
set -euo pipefail

db_user="${HOMEVAL_DB_USER:-homeval}"
grafana_user="${GRAFANA_ADMIN_USER:-admin}"
writer_user="${MLFLOW_WRITER_USER:-pipeline}"
host="postgres.homeval.svc.cluster.local:5432"

random() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }
fernet() { python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'; }

db_password="$(random)"
s3_key="homeval-$(python3 -c 'import secrets; print(secrets.token_hex(6))')"
s3_secret="$(random)"
writer_password="$(random)"
# MLflow's auth proxy (nginx) checks writes against this line; apr1 is what every nginx
# verifies without the system's crypt()
writer_htpasswd="$writer_user:$(printf %s "$writer_password" | openssl passwd -apr1 -stdin)"

secret() { # namespace name key=value...
  local ns="$1" name="$2"
  shift 2
  local args=()
  for pair in "$@"; do args+=("--from-literal=$pair"); done
  kubectl create secret generic "$name" -n "$ns" "${args[@]}" --dry-run=client -o yaml
  echo "---"
}

for ns in homeval kubeflow; do
  secret "$ns" homeval-db \
    "username=$db_user" "password=$db_password" \
    "url=postgresql://$db_user:$db_password@$host/homeval" \
    "mlflow-url=postgresql+psycopg://$db_user:$db_password@$host/mlflow"
  secret "$ns" homeval-s3 "access-key-id=$s3_key" "secret-access-key=$s3_secret"
done
# only the pipeline pods may write to MLflow; the proxy in homeval holds the hash alone
secret kubeflow homeval-mlflow-writer "username=$writer_user" "password=$writer_password"
secret homeval homeval-mlflow-auth "htpasswd=$writer_htpasswd"
secret homeval homeval-grafana \
  "admin-user=$grafana_user" "admin-password=$(random)" "db-reader-password=$(random)"
secret airflow airflow-metadata "connection=postgresql://$db_user:$db_password@$host/airflow"
secret airflow airflow-fernet-key "fernet-key=$(fernet)"
secret airflow airflow-api-secret-key "api-secret-key=$(random)"
secret airflow homeval-db "url=postgresql://$db_user:$db_password@$host/homeval"  # DAG reads trainlogs
