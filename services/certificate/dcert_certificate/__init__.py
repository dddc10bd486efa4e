"""The certificate service: the system of record of an applicant's file and certificate."""
