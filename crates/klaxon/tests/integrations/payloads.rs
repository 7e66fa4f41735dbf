//! Every integration's request format against Alertmanager 0.25.
