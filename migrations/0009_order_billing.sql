-- A business customer's invoicing details (company, address, VAT number), recorded on
-- the order when it is placed. Null for an individual.
alter table orders add column billing jsonb;
