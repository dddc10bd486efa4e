-- One database per service: no service reads another's tables.
CREATE DATABASE dcert_certificate;
CREATE DATABASE dcert_assessment;
CREATE DATABASE dcert_benefits;
CREATE DATABASE dcert_notification;
-- Keycloak's own (docker-compose.yml): its users and sessions, apart from the services' data.
CREATE DATABASE keycloak;
