{{/* The chart's name, and the release's full name (63 characters at most: it names objects). */}}
{{- define "federange.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "federange.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object; "federange.componentLabels" adds the role (api, scheduler, migrate, test). */}}
{{- define "federange.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "federange.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: federange
{{- end -}}

{{- define "federange.selectorLabels" -}}
app.kubernetes.io/name: {{ include "federange.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "federange.componentLabels" -}}
{{ include "federange.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "federange.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "federange.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "federange.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The environment of every Federange container: the two Secrets, the chart-managed paths, `config`. */}}
{{- define "federange.env" -}}
- name: FEDERANGE_DATABASE_URL
  valueFrom:
    secretKeyRef: {name: {{ .Values.database.existingSecret | quote }}, key: {{ .Values.database.key | quote }}}
- name: FEDERANGE_SECRET_KEY
  valueFrom:
    secretKeyRef: {name: {{ .Values.secretKey.existingSecret | quote }}, key: {{ .Values.secretKey.key | quote }}}
{{- if .Values.instanceSeed.existingSecret }}
- name: FEDERANGE_INSTANCE_SEED
  valueFrom:
    secretKeyRef: {name: {{ .Values.instanceSeed.existingSecret | quote }}, key: {{ .Values.instanceSeed.key | quote }}}
{{- end }}
{{- if .Values.previousSecretKeys.existingSecret }}
- name: FEDERANGE_PREVIOUS_SECRET_KEYS
  valueFrom:
    secretKeyRef: {name: {{ .Values.previousSecretKeys.existingSecret | quote }}, key: {{ .Values.previousSecretKeys.key | quote }}}
{{- end }}
{{- if .Values.oidcIssuers.existingSecret }}
- name: FEDERANGE_OIDC_ISSUERS
  valueFrom:
    secretKeyRef: {name: {{ .Values.oidcIssuers.existingSecret | quote }}, key: {{ .Values.oidcIssuers.key | quote }}}
{{- end }}
- name: FEDERANGE_DATA_DIR
  value: /var/lib/federange
- name: HOME
  value: /var/lib/federange
- name: FEDERANGE_HOST
  value: "0.0.0.0"
- name: FEDERANGE_PORT
  value: {{ .Values.api.port | quote }}
{{- range $name, $value := .Values.config }}
- name: {{ printf "FEDERANGE_%s" (upper $name) }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The writable paths of a read-only root filesystem. */}}
{{- define "federange.volumeMounts" -}}
- {name: tmp, mountPath: /tmp}
- {name: data, mountPath: /var/lib/federange}
{{- end -}}

{{- define "federange.volumes" -}}
- name: tmp
  emptyDir: {sizeLimit: {{ .Values.volumes.tmpSizeLimit }}}
- name: data
  emptyDir: {sizeLimit: {{ .Values.volumes.dataSizeLimit }}}
{{- end -}}

{{/* Spread constraints for one role's pods (`matchLabelKeys` keeps a rollout's new pods spread too). */}}
{{- define "federange.topologySpread" -}}
{{- $spread := .spread -}}
{{- if $spread.enabled -}}
topologySpreadConstraints:
{{- range $spread.topologyKeys }}
  - maxSkew: {{ $spread.maxSkew }}
    topologyKey: {{ . }}
    whenUnsatisfiable: {{ $spread.whenUnsatisfiable }}
    labelSelector:
      matchLabels: {{- include "federange.selectorLabels" $ | nindent 8 }}
    matchLabelKeys: [pod-template-hash]
{{- end }}
{{- end }}
{{- end -}}

{{/* The pod-level fields every Federange pod shares. */}}
{{- define "federange.podCommon" -}}
securityContext: {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
