package store

// Backups keeps the catalogue of backups: base backups, archived logs and
// their retention. (Its methods are added with the backup tables.)
type Backups interface{}
