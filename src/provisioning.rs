//! What the registration screen shows: URI, QR and the hidden setup key.
