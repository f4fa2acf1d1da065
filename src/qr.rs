//! QR rendering (svg, png, data URL, terminal).
