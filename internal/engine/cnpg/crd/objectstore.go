package crd

// BarmanObjectStoreConfiguration is an S3-compatible bucket barman-cloud
// archives into (github.com/cloudnative-pg/barman-cloud v0.3.3,
// pkg/api/config.go).
type BarmanObjectStoreConfiguration struct {
	BarmanCredentials `json:",inline"`
	EndpointURL       string                   `json:"endpointURL,omitempty"`
	DestinationPath   string                   `json:"destinationPath"`
	ServerName        string                   `json:"serverName,omitempty"`
	Wal               *WalBackupConfiguration  `json:"wal,omitempty"`
	Data              *DataBackupConfiguration `json:"data,omitempty"`
}

// BarmanCredentials are the object store's credentials.
type BarmanCredentials struct {
	AWS *S3Credentials `json:"s3Credentials,omitempty"`
}

// S3Credentials name the secret keys holding S3 credentials.
type S3Credentials struct {
	AccessKeyIDReference     *SecretKeySelector `json:"accessKeyId,omitempty"`
	SecretAccessKeyReference *SecretKeySelector `json:"secretAccessKey,omitempty"`
	RegionReference          *SecretKeySelector `json:"region,omitempty"`
}

// WalBackupConfiguration is how WAL is archived.
type WalBackupConfiguration struct {
	Compression string `json:"compression,omitempty"`
}

// DataBackupConfiguration is how base backups are stored.
type DataBackupConfiguration struct {
	Compression string `json:"compression,omitempty"`
}

// CompressionGzip compresses what barman-cloud uploads with gzip.
const CompressionGzip = "gzip"
