// Leaflet map of the worker's grids, drawn from the synced area documents (no tile server:
// the grid outlines are the map). Tapping sets a WGS84 point.

export function pointInGeometry(lon, lat, geometry) {
  const polys = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  const inRing = (ring) => {
    let inside = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i], [xj, yj] = ring[j];
      if ((yi > lat) !== (yj > lat) && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  };
  return polys.some((rings) => inRing(rings[0]) && !rings.slice(1).some(inRing));
}

export function gridMap(element, areas, { onPick, location }) {
  const map = L.map(element, { attributionControl: false, zoomSnap: 0.25 });
  const layer = L.geoJSON(areas.map((a) => ({ type: 'Feature', geometry: a.geometry,
    properties: { name: a.name, code: a.code } })), {
    style: { color: '#8b1a1a', weight: 3, fillColor: '#f6d7b0', fillOpacity: 0.45 },
    onEachFeature: (f, l) => l.bindTooltip(`${f.properties.name}`, { permanent: true, direction: 'center' }),
  }).addTo(map);
  if (areas.length) map.fitBounds(layer.getBounds(), { padding: [20, 20] });
  else map.setView([30, 120], 8);
  let marker = null;
  const place = (lat, lon) => {
    if (marker) marker.setLatLng([lat, lon]); else marker = L.marker([lat, lon]).addTo(map);
  };
  if (location) place(location.lat, location.lon);
  const pick = (e) => {
    const lat = +e.latlng.lat.toFixed(6), lon = +e.latlng.lng.toFixed(6);
    place(lat, lon);
    onPick({ lon, lat });
  };
  map.on('click', pick);
  layer.on('click', pick);
  return { map, place };
}
