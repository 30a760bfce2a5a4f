{{- define "federange.labels" -}}
app.kubernetes.io/name: federange
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "federange.env" -}}
- name: FEDERANGE_DATABASE_URL
  valueFrom: {secretKeyRef: {name: {{ .Values.database.existingSecret }}, key: url}}
- name: FEDERANGE_SECRET_KEY
  valueFrom: {secretKeyRef: {name: {{ .Values.secretKey.existingSecret }}, key: secret-key}}
- name: FEDERANGE_DATA_DIR
  value: /tmp/federange
{{- end }}
