//! The Sigma condition grammar (to be implemented).
